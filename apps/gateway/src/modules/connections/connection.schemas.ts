import { z } from 'zod';
import { toFieldProblems, type ValidationResult, type Validator } from '../../common/validation/validator';
import { description, labelMap, resourceName } from '../shared/resource-schemas';

export const PROTOCOLS = ['postgres', 'mysql', 'ssh', 'kubernetes', 'http', 'tcp'] as const;
export type ProtocolName = (typeof PROTOCOLS)[number];

/**
 * A reference to a secret that the agent resolves next to the resource: `env:NAME` or
 * `file:/absolute/path`. The caller never sees the secret, and the gateway never stores it here.
 */
export const secretRef = z
  .string()
  .regex(
    /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/,
    'must be a secret reference: env:VARIABLE_NAME or file:/absolute/path',
  );

const hostName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9.:_\-[\]]+$/, 'must be a host name or IP address');
const portNumber = (fallback: number) => z.number().int().min(1).max(65535).default(fallback);
const tlsMode = z.enum(['disable', 'require', 'verify-ca', 'verify-full']);
const pem = z.string().max(65536).startsWith('-----BEGIN', 'must be PEM text');

const databaseTarget = (defaultPort: number) =>
  z.strictObject({
    host: hostName,
    port: portNumber(defaultPort),
    database: z.string().min(1).max(63).optional(),
    username: z.string().min(1).max(128),
    tls: z.strictObject({ mode: tlsMode.default('disable'), ca: pem.optional() }).optional(),
  });

export const targetSchemas = {
  postgres: databaseTarget(5432),
  mysql: databaseTarget(3306),
  ssh: z.strictObject({
    host: hostName,
    port: portNumber(22),
    username: z.string().min(1).max(128),
    /** Pinned host key (OpenSSH `SHA256:...` fingerprint); the agent refuses any other key. */
    hostKeyFingerprint: z
      .string()
      .regex(/^SHA256:[A-Za-z0-9+/]{43}=?$/, 'must be an OpenSSH SHA256 fingerprint')
      .optional(),
    /**
     * Without a pinned fingerprint: accept the first host key the agent sees and pin it (agent-side).
     * Without either, the agent refuses every session (it could not tell the server from an impostor).
     */
    trustOnFirstUse: z.boolean().default(false),
  }),
  kubernetes: z
    .strictObject({
      server: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL of the API server' }).optional(),
      /**
       * The agent runs in the cluster: the API server and the service account (token, CA) come
       * from its pod, as client-go's in-cluster configuration reads them.
       */
      inCluster: z.boolean().optional(),
      ca: pem.optional(),
      insecureSkipTlsVerify: z.boolean().default(false),
    })
    .superRefine((target, ctx) => {
      if (target.inCluster === true && target.server !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['server'],
          message: 'set either server or inCluster: true (in-cluster, the agent finds the API server itself)',
        });
      } else if (target.inCluster !== true && target.server === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['server'],
          message: 'required: the API server URL, or inCluster: true for an agent that runs in the cluster',
        });
      }
    }),
  http: z.strictObject({
    url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    ca: pem.optional(),
    insecureSkipTlsVerify: z.boolean().default(false),
    /** User name for basic authentication; the password is `credential.password`. */
    username: z
      .string()
      .min(1)
      .max(256)
      // eslint-disable-next-line no-control-regex
      .regex(/^[^:\x00-\x1f\x7f]+$/, 'must not contain a colon or control characters')
      .optional(),
  }),
  tcp: z.strictObject({ host: hostName, port: z.number().int().min(1).max(65535) }),
} satisfies Record<ProtocolName, z.ZodType>;

export const credentialSchema = z.strictObject({
  password: secretRef.optional(),
  privateKey: secretRef.optional(),
  /** The passphrase of an encrypted `privateKey` (SSH). */
  passphrase: secretRef.optional(),
  token: secretRef.optional(),
  clientCertificate: secretRef.optional(),
  clientKey: secretRef.optional(),
  /** http: headers the agent adds to every request, name -> secret reference of the value. */
  headers: z
    .record(
      z.string().regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/, 'must be an HTTP header name'),
      secretRef,
    )
    .optional(),
});

const common = {
  name: resourceName,
  description: description.optional(),
  tags: labelMap.default({}),
  credential: credentialSchema.default({}),
  /** Names of the agents that serve this connection (several for HA). */
  agents: z.array(resourceName).max(64).default([]),
};

export type ConnectionTarget = z.output<(typeof targetSchemas)[ProtocolName]>;

const createConnectionBase = z.strictObject({
  ...common,
  protocol: z.enum(PROTOCOLS, { error: `must be one of ${PROTOCOLS.join(', ')}` }),
  target: z.unknown(),
});

export type CreateConnectionInput = Omit<z.output<typeof createConnectionBase>, 'target'> & {
  target: ConnectionTarget;
};

/**
 * The target's shape depends on the protocol. Both are checked in one pass so that a request with
 * several mistakes hears about all of them at once.
 */
export const validateCreateConnection: Validator<CreateConnectionInput> = (body) => {
  const base = createConnectionBase.safeParse(body);
  const fields = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const protocol = PROTOCOLS.find((p) => p === fields['protocol']);
  const target = protocol ? validateTarget(protocol, fields['target']) : undefined;
  if (base.success && target?.ok) return { ok: true, value: { ...base.data, target: target.value } };
  return {
    ok: false,
    problems: [
      ...(base.success ? [] : toFieldProblems(base.error)),
      ...(target && !target.ok ? target.problems : []),
    ],
  };
};

export function validateTarget(protocol: ProtocolName, target: unknown): ValidationResult<ConnectionTarget> {
  const result = targetSchemas[protocol].safeParse(target);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: toFieldProblems(result.error, ['target']) };
}

/**
 * Update is a JSON merge patch (RFC 7396): it changes the fields it names; within `target`, `tags`
 * and `credential` it changes the keys it names, and a key set to null is removed. `agents` is
 * replaced whole. The protocol of a connection never changes (delete and re-create instead); the
 * merged `target` is validated against the connection's protocol, the merged tags and credential
 * as on create.
 */
export const updateConnectionSchema = z.strictObject({
  name: resourceName.optional(),
  description: description.nullable().optional(),
  tags: z.record(z.string(), z.string().nullable()).optional(),
  credential: z.record(z.string(), z.string().nullable()).optional(),
  agents: z.array(resourceName).max(64).optional(),
  target: z.record(z.string(), z.unknown()).optional(),
});

/** The merged tags and credential of an update, checked as on create. */
export const mergedTagsSchema = labelMap;
export const mergedCredentialSchema = credentialSchema;
export type UpdateConnectionInput = z.output<typeof updateConnectionSchema>;

export const listConnectionsQuery = z.strictObject({
  protocol: z.enum(PROTOCOLS).optional(),
  /** `key=value`: only connections carrying that tag. */
  tag: z
    .string()
    .regex(/^[^=]+=.*$/, 'must be key=value')
    .optional(),
});
export type ListConnectionsQuery = z.output<typeof listConnectionsQuery>;

/** Request body documentation: one variant per protocol. */
export const createConnectionVariants = PROTOCOLS.map((protocol) =>
  z.strictObject({ ...common, protocol: z.literal(protocol), target: targetSchemas[protocol] }),
);

/** The console's query runner: SQL for one simple Query (several statements allowed). */
export const runQuerySchema = z.strictObject({
  sql: z.string().min(1).max(1_000_000),
  /** Rows kept per statement; the rest are counted in the tag but not sent. */
  maxRows: z.number().int().min(1).max(10_000).default(1000),
});
export type RunQueryBody = z.output<typeof runQuerySchema>;
