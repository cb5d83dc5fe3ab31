import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  Bundle,
  Protocol,
  TlsMode,
  type ConnectionSpec,
  type HttpCredential,
  type TlsSettings,
} from '@tollgate/proto';
import { ActivePolicyService } from '../identity/rbac/active-policy.service';
import { StoreService } from '../store/store.service';

type Json = Record<string, unknown>;

const PROTOCOLS: Record<string, Protocol> = {
  postgres: Protocol.POSTGRES,
  mysql: Protocol.MYSQL,
  ssh: Protocol.SSH,
  kubernetes: Protocol.KUBERNETES,
  http: Protocol.HTTP,
  tcp: Protocol.TCP,
};

const TLS_MODES: Record<string, TlsMode> = {
  disable: TlsMode.DISABLE,
  prefer: TlsMode.PREFER,
  require: TlsMode.REQUIRE,
  'verify-ca': TlsMode.VERIFY_CA,
  'verify-full': TlsMode.VERIFY_FULL,
};

/**
 * Builds the bundle an agent enforces: every connection assigned to it, with its target settings,
 * and the active policy document with its version.
 * The version is a hash of the content, so every replica computes the same version for the same
 * bundle and an agent that already enforces it is not sent it again.
 */
@Injectable()
export class BundleBuilder {
  constructor(
    private readonly store: StoreService,
    private readonly policies: ActivePolicyService,
  ) {}

  async forAgent(agentId: string): Promise<Bundle> {
    const rows = await this.store.prisma.connection.findMany({
      where: { agents: { some: { agentId } } },
      orderBy: { name: 'asc' },
    });
    const connections = rows.map((row) =>
      connectionSpec(row.name, row.protocol, row.tags as Json, row.target as Json, row.credential as Json),
    );
    const policy = await this.policies.current();
    const policyDocument = policy.document;
    const policyVersion = policy.version ?? 0;
    const content = Bundle.encode({ version: '', connections, policyDocument, policyVersion }).finish();
    const version = `sha256:${createHash('sha256').update(content).digest('hex').slice(0, 16)}`;
    return { version, connections, policyDocument, policyVersion };
  }
}

export function connectionSpec(
  name: string,
  protocol: string,
  tags: Json,
  target: Json,
  credential: Json,
): ConnectionSpec {
  const sortedTags = Object.fromEntries(
    Object.entries(tags)
      .map(([k, v]) => [k, String(v)] as const)
      .sort(([a], [b]) => a.localeCompare(b)),
  );
  const credentialRef = [credential['password'], credential['privateKey'], credential['token']].find(
    (value): value is string => typeof value === 'string',
  );
  return {
    name,
    protocol: PROTOCOLS[protocol] ?? Protocol.UNSPECIFIED,
    credentialRef: credentialRef ?? '',
    tags: sortedTags,
    target: targetOf(protocol, target, credential),
  };
}

const str = (value: unknown) => (typeof value === 'string' ? value : '');
const num = (value: unknown) => (typeof value === 'number' ? value : 0);

function tls(value: unknown): TlsSettings | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const mode = TLS_MODES[str((value as Json)['mode'])] ?? TlsMode.UNSPECIFIED;
  return {
    mode,
    caRef: '',
    serverName: '',
    clientCertRef: '',
    clientKeyRef: '',
    caPem: str((value as Json)['ca']),
  };
}

/** TLS towards an HTTP(S) target: verified unless the connection opts out, client certificate from the credential. */
function httpTls(url: string, t: Json, credential: Json): TlsSettings {
  const https = url.toLowerCase().startsWith('https:');
  return {
    mode: !https
      ? TlsMode.DISABLE
      : t['insecureSkipTlsVerify'] === true
        ? TlsMode.REQUIRE
        : TlsMode.VERIFY_FULL,
    caRef: '',
    serverName: '',
    clientCertRef: str(credential['clientCertificate']),
    clientKeyRef: str(credential['clientKey']),
    caPem: str(t['ca']),
  };
}

/** What the agent adds to each request: a bearer token, basic auth, named headers (references). */
function httpCredential(t: Json, credential: Json): HttpCredential {
  const headers = credential['headers'];
  return {
    bearerTokenRef: str(credential['token']),
    basicUsername: str(t['username']),
    basicPasswordRef: str(credential['password']),
    headerRefs:
      typeof headers === 'object' && headers !== null
        ? Object.fromEntries(Object.entries(headers as Json).map(([name, ref]) => [name, str(ref)]))
        : {},
  };
}

function targetOf(protocol: string, t: Json, credential: Json): ConnectionSpec['target'] {
  switch (protocol) {
    case 'tcp':
      return { $case: 'tcp', tcp: { host: str(t['host']), port: num(t['port']), tls: tls(t['tls']) } };
    case 'postgres':
    case 'mysql': {
      const db = {
        host: str(t['host']),
        port: num(t['port']),
        database: str(t['database']),
        username: str(t['username']),
        tls: tls(t['tls']),
      };
      return protocol === 'postgres' ? { $case: 'postgres', postgres: db } : { $case: 'mysql', mysql: db };
    }
    case 'ssh':
      return {
        $case: 'ssh',
        ssh: {
          host: str(t['host']),
          port: num(t['port']),
          username: str(t['username']),
          hostKeyFingerprints: t['hostKeyFingerprint'] ? [str(t['hostKeyFingerprint'])] : [],
          trustOnFirstUse: t['trustOnFirstUse'] === true,
          privateKeyRef: str(credential['privateKey']),
          passphraseRef: str(credential['passphrase']),
        },
      };
    case 'kubernetes': {
      // No server: in-cluster (the agent finds the API server and its service account in its pod).
      const serverUrl = t['inCluster'] === true ? '' : str(t['server']);
      const { bearerTokenRef } = httpCredential(t, credential);
      return {
        $case: 'kubernetes',
        kubernetes: {
          serverUrl,
          tls: httpTls(serverUrl || 'https:', t, credential),
          credential: { bearerTokenRef, basicUsername: '', basicPasswordRef: '', headerRefs: {} },
        },
      };
    }
    case 'http': {
      const baseUrl = str(t['url']);
      return {
        $case: 'http',
        http: { baseUrl, tls: httpTls(baseUrl, t, credential), credential: httpCredential(t, credential) },
      };
    }
    default:
      return undefined;
  }
}
