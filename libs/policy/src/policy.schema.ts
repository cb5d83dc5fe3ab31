import { z } from 'zod';
import { parseDuration } from './duration';
import {
  BUILTIN_DETECTORS,
  CONNECTION_VERBS,
  OPAQUE_KINDS,
  PROTOCOLS,
  isStatementGroup,
  statementFamily,
  VERBS,
  WHERE_STATEMENTS,
} from './vocabulary';

/**
 * The YAML document as written (snake_case keys). Every object is strict: an unknown key is an
 * error, because a misspelt `deny` or `read_only` must not silently weaken a policy.
 */

const name = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$/, 'expected a name: letters, digits, _ . : - (at most 63)');

const subject = z
  .string()
  .regex(/^(\*|(user|group|sa):\S+)$/, 'expected user:<id or email>, group:<name>, sa:<name> or *');

const connectionSelector = z
  .string()
  .regex(
    /^(\*|tag:[^=\s]+=\S*|[^\s:=]+)$/,
    'expected a connection name (glob allowed), tag:<key>=<value> or *',
  );

const glob = z.string().min(1).regex(/^\S+$/, 'expected a pattern without spaces');

const duration = z.string().refine((text) => parseDuration(text) !== null && parseDuration(text)! > 0, {
  message: 'expected a positive duration such as 30s, 15m, 8h, 1h30m or 2d',
});

const regex = z.string().superRefine((pattern, ctx) => {
  try {
    new RegExp(pattern);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
});

const protocol = z.enum(PROTOCOLS);
const nonEmpty = <T extends z.ZodType>(item: T) => z.array(item).min(1, 'expected at least one entry');

const match = z.strictObject({
  connections: nonEmpty(connectionSelector).optional(),
  protocol: z
    .union([protocol, nonEmpty(protocol)], {
      error: (issue) =>
        `expected a protocol (${PROTOCOLS.join(', ')}) or a list of them; got ${JSON.stringify(issue.input)}`,
    })
    .optional(),
  subjects: nonEmpty(subject).optional(),
});

const statementSelector = z
  .string()
  .refine(
    (selector) =>
      selector === '*' ||
      isStatementGroup(selector) ||
      (/^[A-Z]+( [A-Z]+)*$/.test(selector) && statementFamily(selector) !== null),
    {
      error: (issue) =>
        `expected a SQL statement type in upper case (SELECT, INSERT, UPDATE, DELETE, DROP, DROP DATABASE, COPY FROM, ... see docs/policy.md), a group (WRITE, DDL, DCL) or *; got ${JSON.stringify(issue.input)}`,
    },
  );

const kubernetesMatcher = z
  .strictObject({
    verbs: nonEmpty(
      z.string().regex(/^(\*|[a-z]+)$/, 'expected a lower-case Kubernetes verb or *'),
    ).optional(),
    resources: nonEmpty(glob).optional(),
    namespaces: nonEmpty(glob).optional(),
    // The core group is "" (empty), so a group pattern may be empty.
    groups: nonEmpty(z.string().regex(/^\S*$/, 'expected an API group pattern without spaces')).optional(),
    names: nonEmpty(glob).optional(),
  })
  .refine((k) => k.verbs ?? k.resources ?? k.namespaces ?? k.groups ?? k.names, {
    message: 'expected at least one of verbs, resources, namespaces, groups, names',
  });

const httpMatcher = z
  .strictObject({
    methods: nonEmpty(z.string().regex(/^(\*|[A-Za-z]+)$/, 'expected an HTTP method or *')).optional(),
    paths: nonEmpty(glob).optional(),
  })
  .refine((h) => h.methods ?? h.paths, { message: 'expected at least one of methods, paths' });

const commandMatchers = {
  statements: nonEmpty(statementSelector).optional(),
  tables: nonEmpty(glob).optional(),
  commands: nonEmpty(regex).optional(),
  kubernetes: kubernetesMatcher.optional(),
  http: httpMatcher.optional(),
  message: z.string().min(1).optional(),
};

interface MatcherFields {
  statements?: unknown;
  tables?: unknown;
  commands?: unknown;
  kubernetes?: unknown;
  http?: unknown;
}
const hasMatcher = (m: MatcherFields) =>
  m.statements !== undefined ||
  m.commands !== undefined ||
  m.kubernetes !== undefined ||
  m.http !== undefined;
const matcherMessage = 'expected at least one of statements, commands, kubernetes, http';
const tablesNeedStatements = (m: MatcherFields) => m.tables === undefined || m.statements !== undefined;
const tablesMessage = { message: 'tables narrows statements, so statements is required', path: ['tables'] };

const deny = z
  .strictObject(commandMatchers)
  .refine(hasMatcher, { message: matcherMessage })
  .refine(tablesNeedStatements, tablesMessage);

const minApprovals = z.number().int().min(1).max(100);

const requireApproval = z
  .strictObject({
    ...commandMatchers,
    approvers: nonEmpty(subject),
    min_approvals: minApprovals.default(1),
    timeout: duration.default('15m'),
  })
  .refine(hasMatcher, { message: matcherMessage })
  .refine(tablesNeedStatements, tablesMessage);

const opaqueKind = z
  .string()
  .refine((kind) => kind === '*' || (OPAQUE_KINDS as readonly string[]).includes(kind), {
    error: (issue) => {
      const input = String(issue.input);
      const upper = input.toUpperCase().trim().replace(/\s+/g, ' ');
      const hint = (OPAQUE_KINDS as readonly string[]).includes(upper) ? ` (did you mean "${upper}"?)` : '';
      return `expected a kind of opaque code in upper case (DO, CALL, CREATE FUNCTION, CREATE TRIGGER, DYNAMIC SQL, CODE SETTING, UNPARSED, ... see docs/policy.md, "Opaque code and allow") or *; got ${JSON.stringify(issue.input)}${hint}`;
    },
  });

const envPattern = z.string().regex(/^(?:[A-Za-z_][A-Za-z0-9_]*\*?|\*)$/, {
  message:
    'expected an environment variable name (letters, digits, _; not starting with a digit), optionally ending in * to match a prefix (LC_*), or * for every name',
});

const allow = z
  .strictObject({ opaque: nonEmpty(opaqueKind).optional(), env: z.array(envPattern).optional() })
  .refine((a) => a.opaque ?? a.env, { message: 'expected opaque, env or both' });

const guardrail = z
  .strictObject({
    name,
    description: z.string().optional(),
    match: match.default({}),
    deny: deny.optional(),
    require_approval: requireApproval.optional(),
    require_where: nonEmpty(z.enum(WHERE_STATEMENTS)).optional(),
    allow: allow.optional(),
  })
  .refine((g) => g.deny ?? g.require_approval ?? g.require_where ?? g.allow, {
    message: 'expected at least one of deny, require_approval, require_where, allow',
  });

const role = z
  .strictObject({
    name,
    description: z.string().optional(),
    subjects: nonEmpty(subject),
    connections: nonEmpty(connectionSelector).optional(),
    verbs: nonEmpty(z.enum(VERBS)),
    max_duration: duration.optional(),
    read_only: z.boolean().default(false),
  })
  .refine((r) => r.connections !== undefined || !r.verbs.some((v) => CONNECTION_VERBS.includes(v)), {
    message: 'a role granting connect, exec or register must name its connections',
    path: ['connections'],
  });

const customDetector = z.strictObject({ name, pattern: regex });
const detector = z.union([z.enum(BUILTIN_DETECTORS), customDetector], {
  error: `expected one of ${BUILTIN_DETECTORS.join(', ')}, or {name, pattern} for a custom detector`,
});

const kubernetesMasking = z.strictObject({
  resources: nonEmpty(glob),
  // The core group is "" (empty), so a group pattern may be empty.
  groups: nonEmpty(z.string().regex(/^\S*$/, 'expected an API group pattern without spaces')).optional(),
  fields: nonEmpty(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'expected a top-level field name such as data'),
  ).default(['data', 'stringData']),
});

const maskingRule = z
  .strictObject({
    name: name.optional(),
    match: match.default({}),
    detectors: nonEmpty(detector).optional(),
    columns: nonEmpty(
      z
        .string()
        .regex(
          /^([^.\s]+\.)?[^.\s]+\.[^.\s]+$/,
          'expected table.column or schema.table.column (globs allowed)',
        ),
    ).optional(),
    on_derived: z.enum(['mask', 'deny']).default('mask'),
    predicates: z.enum(['allow', 'deny']).default('allow'),
    kubernetes: kubernetesMasking.optional(),
  })
  .refine((m) => m.detectors ?? m.columns ?? m.kubernetes, {
    message: 'expected at least one of detectors, columns, kubernetes',
  });

/**
 * The most bytes of one body an audit rule may record. A result event carries up to two bodies
 * (JSON escaping can double them) in one journal record, one tunnel message (4 MiB at most, a
 * shipped batch up to 1 MiB plus a record) and one row of the audit store.
 */
export const BODY_MAX_BYTES_LIMIT = 256 * 1024;
export const BODY_DEFAULT_MAX_BYTES = 64 * 1024;
export const BODY_DEFAULT_CONTENT_TYPES = ['application/json', 'application/*+json', 'text/*'];

const mediaRange = z.string().regex(/^[A-Za-z0-9!#$&^_.+*-]+\/[A-Za-z0-9!#$&^_.+*-]+$/, {
  error: (issue) =>
    `expected a media type without parameters, such as application/json, text/* or application/*+json; got ${JSON.stringify(issue.input)}`,
});

const bodies = z
  .strictObject({
    request: z.boolean({ error: 'expected true or false (record request bodies)' }).default(false),
    response: z.boolean({ error: 'expected true or false (record response bodies)' }).default(false),
    max_bytes: z
      .number({
        error: (issue) =>
          `expected a whole number of bytes from 1 to ${BODY_MAX_BYTES_LIMIT} (256 KiB); got ${JSON.stringify(issue.input)}`,
      })
      .int({ error: (issue) => `expected a whole number of bytes; got ${JSON.stringify(issue.input)}` })
      .min(1, { error: 'expected at least 1 byte' })
      .max(BODY_MAX_BYTES_LIMIT, {
        error: `at most ${BODY_MAX_BYTES_LIMIT} bytes (256 KiB) of a body are recorded: a result event carries both bodies in one journal record and one tunnel message`,
      })
      .default(BODY_DEFAULT_MAX_BYTES),
    content_types: nonEmpty(mediaRange).default(BODY_DEFAULT_CONTENT_TYPES),
  })
  .refine((b) => b.request || b.response, {
    message: 'records nothing: expected request: true, response: true or both',
  });

const auditRule = z
  .strictObject({
    name,
    description: z.string().optional(),
    match: match.default({}),
    mode: z
      .enum(['edge', 'gateway'], {
        error:
          'expected edge (the agent journals each command before forwarding it) or gateway (the gateway commits it first)',
      })
      .optional(),
    bodies: bodies.optional(),
  })
  .refine((a) => a.mode ?? a.bodies, { message: 'expected mode, bodies or both' });

const accessRequestRule = z.strictObject({
  name,
  description: z.string().optional(),
  requesters: nonEmpty(subject),
  connections: nonEmpty(connectionSelector),
  verbs: nonEmpty(z.enum(['connect', 'exec'])),
  reviewers: nonEmpty(subject),
  min_approvals: minApprovals.default(1),
  max_duration: duration.default('1h'),
  read_only: z.boolean().default(false),
});

function uniqueNames(
  items: readonly { name?: string | undefined }[],
  key: string,
  ctx: z.RefinementCtx,
): void {
  const seen = new Set<string>();
  items.forEach((item, index) => {
    if (item.name === undefined) return;
    if (seen.has(item.name)) {
      ctx.addIssue({ code: 'custom', message: `duplicate name "${item.name}"`, path: [key, index, 'name'] });
    }
    seen.add(item.name);
  });
}

export const policyDocumentSchema = z
  .strictObject({
    version: z.literal(1, { error: 'expected version: 1 (the only schema version so far)' }),
    metadata: z
      .strictObject({
        name: z.string().optional(),
        description: z.string().optional(),
        owner: z.string().optional(),
      })
      .default({}),
    roles: z.array(role).default([]),
    guardrails: z.array(guardrail).default([]),
    masking: z.array(maskingRule).default([]),
    access_requests: z.array(accessRequestRule).default([]),
    audit: z.array(auditRule).default([]),
    delegation: z
      .strictObject({ max_depth: z.number().int().min(0).max(10).default(2) })
      .default({ max_depth: 2 }),
    sessions: z
      .strictObject({ max_duration: duration.default('8h'), read_only: z.boolean().default(false) })
      .default({ max_duration: '8h', read_only: false }),
  })
  .superRefine((doc, ctx) => {
    uniqueNames(doc.roles, 'roles', ctx);
    uniqueNames(doc.guardrails, 'guardrails', ctx);
    uniqueNames(doc.masking, 'masking', ctx);
    uniqueNames(doc.access_requests, 'access_requests', ctx);
    uniqueNames(doc.audit, 'audit', ctx);
  });

export type PolicyDocument = z.output<typeof policyDocumentSchema>;
