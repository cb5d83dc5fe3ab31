import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import {
  createAgent,
  createMachinePostgresConnection,
  createTestDatabase,
  makeTempDir,
  postTokenEndpoint,
  serviceAccountToken,
  spawnAgent,
  spawnCli,
  startTunnelGateway,
  type CliProcess,
  type TunnelGateway,
} from '@tollgate/testing';

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

// alice may do everything by her role: whatever a credential of hers cannot do, its scopes refuse.
const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins', 'sa:alice']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review, register, forward]
  - name: matrix-dbas
    subjects: ['group:matrix-dba']
    connections: [pg-b]
    verbs: [connect]
access_requests:
  - name: bob-asks
    requesters: ['sa:bob']
    connections: [pg-b]
    verbs: [connect]
    reviewers: ['sa:alice']
`;

/** Credentials of sa:alice (and the agent's token), each narrowed differently. */
type Kind =
  | 'token'
  | 'delegated'
  | 'keyConnect'
  | 'keyExec'
  | 'keyAudit'
  | 'keyAuditB'
  | 'credential'
  | 'saNarrow'
  | 'agent';
const NARROWED: readonly Kind[] = [
  'delegated',
  'keyConnect',
  'keyExec',
  'keyAudit',
  'keyAuditB',
  'credential',
  'saNarrow',
];
const KINDS: readonly Kind[] = ['token', ...NARROWED, 'agent'];
const CONNECT_PG_A: readonly Kind[] = ['delegated', 'keyConnect', 'credential', 'saNarrow'];

/** A route, and the status each kind gets (unlisted narrowed kinds: 403; the agent token: 401). */
interface Row {
  readonly method: string;
  readonly path: string;
  readonly body?: unknown;
  readonly allowed: Partial<Record<Kind, number>>;
}

const of = (kinds: readonly Kind[], status: number) =>
  Object.fromEntries(kinds.map((k) => [k, status])) as Partial<Record<Kind, number>>;
const OWN = of(['token', ...NARROWED], 200);
const NEW_TCP = { name: 'x-new', protocol: 'tcp', target: { host: '127.0.0.1', port: 9 }, agents: ['edge'] };

/**
 * Lateral movement across credential kinds, against a real gateway, agent and PostgreSQL: a person
 * or service account's full token, a delegated token, API keys narrowed to one verb, a connection
 * credential, a client-credentials token asked with a narrow scope, and an agent token, each
 * tried on every REST surface, the PostgreSQL listener and the token endpoint.
 */
describe('scope matrix: each credential reaches what its scopes and the roles allow, never more', () => {
  let gateway: TunnelGateway;
  let listenerPort: number;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  const creds = {} as Record<Kind, string>;
  const secrets: Record<string, string> = {};
  let sessionId = '';
  let reviewId = '';

  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.httpUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      text: await response.text(),
    };
  };
  const exchange = (subjectToken: string, extra: Record<string, string> = {}) =>
    postTokenEndpoint(gateway.httpUrl, {
      grant_type: EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS,
      ...extra,
    });
  const pgClient = (password: string, database: string) =>
    new Client({ host: '127.0.0.1', port: listenerPort, user: 'sa:alice', database, password });
  /** `ok` or the listener's error message. */
  const viaListener = async (password: string, database: string) => {
    const client = pgClient(password, database);
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select 1');
      return 'ok';
    } catch (error) {
      return (error as Error).message;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  beforeAll(async () => {
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    const target = await createTestDatabase();
    cleanups.push(target.drop);
    gateway = await startTunnelGateway(['--postgres-port', '0'], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    const address = /"postgresAddress":"([^"]+):(\d+)"/.exec(gateway.cli.output());
    if (!address) throw new Error(`no postgresAddress in the gateway log:\n${gateway.cli.output()}`);
    listenerPort = Number(address[2]);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    for (const [name, groups] of [
      ['alice', []],
      ['bob', []],
      ['carol', ['matrix-dba']],
    ] as const) {
      const account = await gateway.api<{ clientSecret: string }>('POST', '/api/v1/service-accounts', {
        name,
        groups,
      });
      expect(account.status).toBe(201);
      secrets[name] = account.body.clientSecret;
    }
    creds.agent = await createAgent(gateway, 'edge');
    for (const name of ['pg-a', 'pg-b'])
      await createMachinePostgresConnection(gateway, name, target.name, ['edge'], 'env:MATRIX_DB_PASSWORD');
    processes.push(await spawnAgent(gateway.grpcUrl, creds.agent, { env: { MATRIX_DB_PASSWORD: 'unused' } }));

    creds.token = (await serviceAccountToken(gateway.httpUrl, 'alice', secrets['alice'])).access_token;
    creds.saNarrow = (
      await serviceAccountToken(gateway.httpUrl, 'alice', secrets['alice'], 'connect:pg-a')
    ).access_token;
    const delegated = await exchange(creds.token, { scope: 'connect:pg-a' });
    expect(delegated.status).toBe(200);
    creds.delegated = delegated.body['access_token'] as string;
    for (const [kind, scope, extra] of [
      ['keyConnect', 'connect:pg-a', {}],
      ['keyExec', 'exec:pg-a', {}],
      ['keyAudit', 'audit:read', {}],
      // Reads what pg-b recorded, and nothing else.
      ['keyAuditB', 'audit:read:pg-b', {}],
      // What `tollgate credentials create pg-a --ttl 1h` asks for.
      ['credential', 'connect:pg-a', { expiresInSeconds: 3600 }],
    ] as const) {
      const created = await call(creds.token, 'POST', '/api/v1/api-keys', { name: kind, scope, ...extra });
      expect(created.status, created.text).toBe(201);
      creds[kind] = (JSON.parse(created.text) as { key: string }).key;
    }
    // A session to show and play, and a review of bob's that alice may decide.
    const ran = await call(creds.token, 'POST', '/api/v1/connections/pg-a/query', { sql: 'select 1' });
    expect(ran.status, ran.text).toBe(200);
    sessionId = (JSON.parse(ran.text.split('\n')[0]) as { sessionId: string }).sessionId;
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    const bob = (await serviceAccountToken(gateway.httpUrl, 'bob', secrets['bob'])).access_token;
    const asked = await call(bob, 'POST', '/api/v1/access-requests', {
      connection: 'pg-b',
      verb: 'connect',
      duration: '10m',
      reason: 'incident 7',
    });
    expect(asked.status, asked.text).toBe(201);
    reviewId = (JSON.parse(asked.text) as { id: string }).id;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const rows = (): Row[] => [
    { method: 'GET', path: '/api/v1/connections', allowed: { token: 200 } },
    { method: 'GET', path: '/api/v1/connections/pg-b', allowed: { token: 200 } },
    { method: 'GET', path: '/api/v1/connections/pg-b/reach', allowed: { token: 200 } },
    { method: 'POST', path: '/api/v1/connections', body: NEW_TCP, allowed: {} },
    { method: 'PATCH', path: '/api/v1/connections/pg-b', body: { agents: ['edge'] }, allowed: {} },
    // The use case decides register on the connection; an unknown one is not found for anyone.
    { method: 'DELETE', path: '/api/v1/connections/nope', allowed: of(NARROWED, 404) },
    {
      method: 'POST',
      path: '/api/v1/connections/pg-a/query',
      body: { sql: 'select 1' },
      allowed: { keyExec: 200 },
    },
    { method: 'POST', path: '/api/v1/connections/pg-b/query', body: { sql: 'select 1' }, allowed: {} },
    { method: 'GET', path: '/api/v1/policy', allowed: { token: 200 } },
    { method: 'POST', path: '/api/v1/policy', body: { document: POLICY }, allowed: {} },
    { method: 'GET', path: '/api/v1/policy/versions', allowed: { token: 200 } },
    { method: 'POST', path: '/api/v1/policy/dry-run', body: { document: POLICY }, allowed: {} },
    { method: 'GET', path: '/api/v1/users', allowed: { token: 200 } },
    { method: 'PATCH', path: '/api/v1/users/nobody', body: { disabled: true }, allowed: {} },
    { method: 'GET', path: '/api/v1/service-accounts', allowed: { token: 200 } },
    {
      method: 'POST',
      path: '/api/v1/service-accounts',
      body: { name: 'evil', groups: ['tollgate-admins'] },
      allowed: {},
    },
    { method: 'PATCH', path: '/api/v1/service-accounts/bob', body: { disabled: true }, allowed: {} },
    { method: 'GET', path: '/api/v1/agents', allowed: { token: 200 } },
    { method: 'POST', path: '/api/v1/agents', body: { name: 'evil-agent' }, allowed: {} },
    { method: 'PATCH', path: '/api/v1/agents/edge', body: { labels: {} }, allowed: {} },
    { method: 'GET', path: '/api/v1/agents/edge/tokens', allowed: { token: 200 } },
    { method: 'POST', path: '/api/v1/agents/edge/tokens', body: {}, allowed: {} },
    { method: 'GET', path: '/api/v1/sessions', allowed: { token: 200, keyAudit: 200, keyAuditB: 200 } },
    // The session is on pg-a: not found with audit:read narrowed to pg-b.
    {
      method: 'GET',
      path: `/api/v1/sessions/${sessionId}`,
      allowed: { token: 200, keyAudit: 200, keyAuditB: 404 },
    },
    // The query session has no terminal recording: found by audit:read, refused to the rest.
    {
      method: 'GET',
      path: `/api/v1/sessions/${sessionId}/recording`,
      allowed: { token: 404, keyAudit: 404, keyAuditB: 404 },
    },
    { method: 'POST', path: '/api/v1/sessions/nope/kill', allowed: {} },
    { method: 'GET', path: '/api/v1/audit', allowed: { token: 200, keyAudit: 200, keyAuditB: 200 } },
    { method: 'GET', path: '/api/v1/audit/export', allowed: { token: 200, keyAudit: 200, keyAuditB: 200 } },
    // The chain check reads the whole log: not with a narrowed audit:read.
    { method: 'GET', path: '/api/v1/audit/verify', allowed: { token: 200, keyAudit: 200 } },
    // Reviews of others: only a token carrying `review` sees (and may decide) them.
    { method: 'GET', path: `/api/v1/reviews/${reviewId}`, allowed: { token: 200, ...of(NARROWED, 404) } },
    { method: 'POST', path: `/api/v1/reviews/${reviewId}/reject`, body: {}, allowed: {} },
    {
      method: 'POST',
      path: '/api/v1/access-requests',
      body: { connection: 'pg-b', verb: 'connect', duration: '10m', reason: 'x' },
      allowed: {},
    },
    // Keys are made with one's own login or client credentials, at most its scopes.
    {
      method: 'POST',
      path: '/api/v1/api-keys',
      body: { name: 'again', scope: 'connect:pg-a' },
      allowed: { saNarrow: 201 },
    },
    { method: 'GET', path: '/api/v1/api-keys', allowed: OWN },
    { method: 'GET', path: '/api/v1/ssh-keys', allowed: OWN },
    { method: 'GET', path: '/api/v1/me', allowed: OWN },
    { method: 'GET', path: '/api/v1/me/access', allowed: OWN },
    { method: 'GET', path: '/api/v1/gateway', allowed: OWN },
    { method: 'GET', path: '/api/v1/connections/pg-b/access', allowed: OWN },
  ];

  it('REST: every route answers each kind as its scopes allow; refusals are problem+json', async () => {
    const table: string[] = [];
    const expected: string[] = [];
    for (const row of rows()) {
      const got: string[] = [];
      const want: string[] = [];
      for (const kind of KINDS) {
        // The full token is the positive control on reads only (writes would change the fixture).
        if (kind === 'token' && row.method !== 'GET') continue;
        const wanted = row.allowed[kind] ?? (kind === 'agent' ? 401 : 403);
        const response = await call(creds[kind], row.method, row.path, row.body);
        got.push(`${kind}=${response.status}`);
        want.push(`${kind}=${wanted}`);
        if (response.status === 401 || response.status === 403)
          expect(response.type, `${row.method} ${row.path} as ${kind}`).toMatch(
            /^application\/problem\+json/,
          );
      }
      table.push(`${row.method} ${row.path} ${got.join(' ')}`);
      expected.push(`${row.method} ${row.path} ${want.join(' ')}`);
    }
    expect(table).toEqual(expected);
  }, 60_000);

  it('REST: narrowed credentials see only what they hold (reviews, me/access, connection access)', async () => {
    const reviews = async (kind: Kind) =>
      (
        JSON.parse((await call(creds[kind], 'GET', '/api/v1/reviews')).text) as { items: { id: string }[] }
      ).items.map((r) => r.id);
    expect(await reviews('token')).toContain(reviewId);
    for (const kind of NARROWED) expect(await reviews(kind), kind).not.toContain(reviewId);

    // audit:read narrowed to pg-b: pg-b's records (bob's access request), not pg-a's session.
    const read = async <T>(kind: Kind, path: string) =>
      (JSON.parse((await call(creds[kind], 'GET', path)).text) as { items: T[] }).items;
    const sessionIds = async (kind: Kind) =>
      (await read<{ id: string }>(kind, '/api/v1/sessions')).map((s) => s.id);
    expect(await sessionIds('keyAudit')).toContain(sessionId);
    expect(await sessionIds('keyAuditB')).not.toContain(sessionId);
    const targets = (await read<{ target: string | null }>('keyAuditB', '/api/v1/audit?limit=1000')).map(
      (r) => r.target,
    );
    expect(targets).toContain('connection:pg-b');
    expect(targets.filter((t) => t !== 'connection:pg-b')).toEqual([]);

    for (const kind of CONNECT_PG_A) {
      const access = JSON.parse((await call(creds[kind], 'GET', '/api/v1/me/access')).text) as {
        verbs: string[];
        connections: { name: string; verbs: string[] }[];
      };
      expect(access.verbs, kind).toEqual([]);
      expect(
        access.connections.filter((c) => c.verbs.length > 0).map((c) => [c.name, c.verbs]),
        kind,
      ).toEqual([['pg-a', ['connect']]]);
    }
  });

  it('REST refusals are audited with the subject and the route', async () => {
    expect((await call(creds.keyConnect, 'GET', '/api/v1/policy')).status).toBe(403);
    const denied = (
      await gateway.auditRecords('authorize:admin', { subject: 'sa:alice', order: 'desc' })
    ).filter((r) => r.decision === 'deny' && r.target === 'GET /api/v1/policy');
    expect(denied[0]?.reason).toMatch(/scope \(connect:pg-a\) does not include admin/);
    expect((await call(creds.agent, 'GET', '/api/v1/policy')).status).toBe(401);
    const [refused] = await gateway.auditRecords('authenticate', { order: 'desc', limit: 1 });
    expect(refused).toMatchObject({ subject: 'anonymous', decision: 'deny', reason: 'malformed token' });
  });

  it('PostgreSQL listener: each credential opens what its scopes name, nothing else, with in-protocol errors', async () => {
    const outcomes: string[] = [];
    for (const kind of KINDS)
      for (const database of ['pg-a', 'pg-b'])
        outcomes.push(`${kind} ${database}: ${await viaListener(creds[kind], database)}`);
    const scopeOf: Partial<Record<Kind, string>> = {
      delegated: 'connect:pg-a',
      keyConnect: 'connect:pg-a',
      credential: 'connect:pg-a',
      saNarrow: 'connect:pg-a',
      keyExec: 'exec:pg-a',
      keyAudit: 'audit:read',
      keyAuditB: 'audit:read:pg-b',
    };
    const expected = KINDS.flatMap((kind) =>
      ['pg-a', 'pg-b'].map((database) => {
        if (kind === 'token' || (CONNECT_PG_A.includes(kind) && database === 'pg-a'))
          return `${kind} ${database}: ok`;
        if (kind === 'agent') return `${kind} ${database}: tollgate: invalid token: malformed token`;
        return `${kind} ${database}: tollgate: the token's scope (${scopeOf[kind]}) does not include connect on connection "${database}"`;
      }),
    );
    expect(outcomes).toEqual(expected);
  });

  it('gRPC client tunnel: tollgate exec and connect take each credential as its scopes allow', async () => {
    const exec = async (kind: Kind, connection: string) => {
      const cli = spawnCli(
        ['exec', connection, '--grpc', gateway.grpcUrl, '--format', 'csv', '-c', 'select 7 as n'],
        {
          TOLLGATE_TOKEN: creds[kind],
        },
      );
      return `${kind} exec ${connection}: ${await cli.exited()} ${cli.output().trim()}`;
    };
    const connect = async (kind: Kind, connection: string) => {
      const cli = spawnCli(['connect', connection, '--grpc', gateway.grpcUrl], {
        TOLLGATE_TOKEN: creds[kind],
        TOLLGATE_URL: gateway.httpUrl,
      });
      return `${kind} connect ${connection}: ${await cli.exited()} ${cli.output().trim()}`;
    };
    expect([
      await exec('keyExec', 'pg-a'),
      await exec('keyExec', 'pg-b'),
      await exec('credential', 'pg-a'),
      await exec('agent', 'pg-a'),
      await connect('keyExec', 'pg-a'),
      await connect('credential', 'pg-b'),
      await connect('keyAudit', 'pg-a'),
    ]).toEqual([
      'keyExec exec pg-a: 0 n\r\n7',
      'keyExec exec pg-b: 1 tollgate exec: pg-b: denied: the token\'s scope (exec:pg-a) does not include exec on connection "pg-b"',
      'credential exec pg-a: 1 tollgate exec: pg-a: denied: the token\'s scope (connect:pg-a) does not include exec on connection "pg-a"',
      expect.stringMatching(/^agent exec pg-a: 1 tollgate exec: .*malformed token/),
      expect.stringMatching(
        /^keyExec connect pg-a: 1 tollgate connect: pg-a: denied: the token's scope \(exec:pg-a\) does not include connect/,
      ),
      expect.stringMatching(
        /^credential connect pg-b: 1 tollgate connect: pg-b: denied: the token's scope \(connect:pg-a\) does not include connect/,
      ),
      expect.stringMatching(
        /^keyAudit connect pg-a: 1 tollgate connect: pg-a: denied: the token's scope \(audit:read\) does not include connect/,
      ),
    ]);
  }, 60_000);

  it('token endpoint: no exchange widens a scope; keys, credentials and agent tokens are not subject tokens', async () => {
    for (const [kind, scope] of [
      ['delegated', 'connect:pg-b'],
      ['delegated', 'exec:pg-a'],
      ['delegated', 'connect:pg-*'],
      ['delegated', 'admin'],
      ['saNarrow', 'connect'],
    ] as const) {
      const { status, body } = await exchange(creds[kind], { scope });
      expect(`${kind} ${scope} ${status} ${String(body['error'])}`).toBe(
        `${kind} ${scope} 400 invalid_scope`,
      );
    }
    for (const kind of ['keyConnect', 'keyAudit', 'credential', 'agent'] as const) {
      const { status, body } = await exchange(creds[kind]);
      expect(`${kind} ${status}`, JSON.stringify(body)).toBe(`${kind} 400`);
    }
    // An API key is not the service account's client secret.
    const asKey = await postTokenEndpoint(gateway.httpUrl, {
      grant_type: 'client_credentials',
      client_id: 'alice',
      client_secret: creds.keyConnect,
    });
    expect(asKey.status).toBe(401);
  });

  it("a narrowed credential cannot revoke its owner's other API keys or SSH keys; a key may revoke itself", async () => {
    const temp = makeTempDir('tollgate-matrix-');
    cleanups.push(() => temp.remove());
    const path = join(temp.path, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'alice-laptop', '-f', path]);
    const added = await call(creds.token, 'POST', '/api/v1/ssh-keys', {
      publicKey: readFileSync(`${path}.pub`, 'utf8').trim(),
    });
    expect(added.status, added.text).toBe(201);
    const sshKey = (JSON.parse(added.text) as { id: string }).id;
    const spare = await call(creds.token, 'POST', '/api/v1/api-keys', { name: 'ci', scope: 'exec:pg-a' });
    expect(spare.status).toBe(201);
    const { prefix, key } = JSON.parse(spare.text) as { prefix: string; key: string };

    for (const kind of ['delegated', 'keyConnect', 'keyAudit', 'credential'] as const) {
      const revoke = await call(creds[kind], 'DELETE', `/api/v1/api-keys/${prefix}`);
      expect(`${kind} ${revoke.status}`, revoke.text).toBe(`${kind} 403`);
      expect(revoke.type).toMatch(/^application\/problem\+json/);
      const remove = await call(creds[kind], 'DELETE', `/api/v1/ssh-keys/${sshKey}`);
      expect(`${kind} ${remove.status}`, remove.text).toBe(`${kind} 403`);
    }
    expect((await call(key, 'GET', '/api/v1/me')).status).toBe(200);
    expect((await call(creds.token, 'GET', '/api/v1/ssh-keys')).text).toContain(sshKey);
    const refused = await gateway.auditRecords('apikey:revoke', {
      subject: 'sa:alice',
      order: 'desc',
      limit: 1,
    });
    expect(refused[0]).toMatchObject({ decision: 'deny', target: `apikey:${prefix}` });

    // A key may revoke itself (as at the RFC 7009 endpoint); the owner's own token revokes the rest.
    expect((await call(key, 'DELETE', `/api/v1/api-keys/${prefix}`)).status).toBe(204);
    expect((await call(key, 'GET', '/api/v1/me')).status).toBe(401);
    expect((await call(creds.saNarrow, 'DELETE', `/api/v1/ssh-keys/${sshKey}`)).status).toBe(204);
  });

  it('removing a subject from the group its role names ends its live listener session and refuses the next', async () => {
    const carol = (await serviceAccountToken(gateway.httpUrl, 'carol', secrets['carol'])).access_token;
    const live = new Client({
      host: '127.0.0.1',
      port: listenerPort,
      user: 'sa:carol',
      database: 'pg-b',
      password: carol,
    });
    const ended = new Promise<string>((resolve) => {
      live.on('error', (error) => resolve(error.message));
      live.on('end', () => resolve('end'));
    });
    await live.connect();
    expect((await live.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);

    const moved = await gateway.api('PATCH', '/api/v1/service-accounts/carol', { groups: [] });
    expect(moved.status).toBe(200);
    expect(await ended).toMatch(
      /its subject's groups changed, and policy version \d+ no longer allows this session/,
    );
    await live.end().catch(() => undefined);

    const again = new Client({
      host: '127.0.0.1',
      port: listenerPort,
      user: 'sa:carol',
      database: 'pg-b',
      password: carol,
    });
    again.on('error', () => undefined);
    await expect(again.connect()).rejects.toThrow(/^tollgate: /);
    await again.end().catch(() => undefined);
  });

  it('disabling the owner stops every credential at once, a live listener session included', async () => {
    const live = pgClient(creds.credential, 'pg-a');
    const ended = new Promise<string>((resolve) => {
      live.on('error', (error) => resolve(error.message));
      live.on('end', () => resolve('end'));
    });
    await live.connect();
    expect((await live.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);

    const disabled = await gateway.api('PATCH', '/api/v1/service-accounts/alice', { disabled: true });
    expect(disabled.status).toBe(200);
    expect(await ended).toMatch(/session ended: its subject sa:alice was disabled or deleted/);
    await live.end().catch(() => undefined);

    for (const kind of NARROWED) {
      const response = await call(creds[kind], 'GET', '/api/v1/me');
      expect(`${kind} ${response.status}`).toBe(`${kind} 401`);
      expect(await viaListener(creds[kind], 'pg-a'), kind).toMatch(/^tollgate: /);
    }
  });
});
