import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from 'pg';
import {
  createAgent,
  createMachinePostgresConnection,
  createTestDatabase,
  MACHINE_POSTGRES,
  postTokenEndpoint,
  runPsql,
  serviceAccountToken,
  spawnAgent,
  spawnConnect,
  startTunnelGateway,
  type CliProcess,
  type PsqlRun,
  type TunnelGateway,
} from '@tollgate/testing';

const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review, register, forward]
access_requests:
  - name: read-only-on-call
    requesters: ['sa:requester']
    connections: [pg]
    verbs: [connect, exec]
    reviewers: ['group:tollgate-admins']
    read_only: true
`;

/**
 * Lateral movement through the identity layer, against a real gateway, agent, `tollgate connect`,
 * psql and the console's query runner: a link of an automation chain can only narrow what it
 * inherits, and what is revoked or disabled anywhere up the chain stops working, live sessions
 * included.
 */
describe('delegation doors: nothing a link inherits can be widened or outlive its source', () => {
  let gateway: TunnelGateway;
  let target: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: Awaited<ReturnType<typeof createTestDatabase>>;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  const secrets: Record<string, string> = {};

  const saToken = async (name: string, scope?: string) =>
    (await serviceAccountToken(gateway.httpUrl, name, secrets[name], scope)).access_token;
  const exchange = (subjectToken: string, extra: Record<string, string> = {}) =>
    postTokenEndpoint(gateway.httpUrl, {
      grant_type: EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS,
      ...extra,
    });
  const exchanged = async (subjectToken: string, extra: Record<string, string> = {}) => {
    const { status, body } = await exchange(subjectToken, extra);
    expect(status, JSON.stringify(body)).toBe(200);
    return body['access_token'] as string;
  };
  const jtiOf = (token: string) =>
    (JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as { jti: string }).jti;
  const sql = async <T extends Record<string, unknown>>(
    url: string,
    text: string,
    params: unknown[] = [],
  ) => {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query<T>(text, params)).rows;
    } finally {
      await client.end();
    }
  };
  const targetUrl = () =>
    `postgres://${MACHINE_POSTGRES.user}@${MACHINE_POSTGRES.host}:${MACHINE_POSTGRES.port}/${target.name}`;
  const running = async (marker: string) =>
    (
      await sql<{ n: string }>(
        targetUrl(),
        'select count(*) as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid()',
        [`%${marker}%`],
      )
    )[0]?.n;
  const listen = async (token: string) => {
    const connect = await spawnConnect(gateway.grpcUrl, token, 'pg');
    processes.push(connect.cli);
    return connect.port;
  };
  /** A psql statement that naps 30 s, once it is running at the target (wrapped: not awaited here). */
  const napping = async (token: string, marker: string): Promise<{ run: Promise<PsqlRun> }> => {
    const run = runPsql(await listen(token), ['-c', `select pg_sleep(30) as ${marker}`], {
      user: 'me',
      database: 'app',
    });
    await expect.poll(() => running(marker), { timeout: 20_000 }).toBe('1');
    return { run };
  };
  const query = async (token: string, text: string) => {
    const response = await fetch(`${gateway.httpUrl}/api/v1/connections/pg/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: text }),
    });
    const body = await response.text();
    return {
      status: response.status,
      lines:
        response.status === 200
          ? body
              .trim()
              .split('\n')
              .map((line) => JSON.parse(line) as Record<string, unknown>)
          : [JSON.parse(body) as Record<string, unknown>],
    };
  };
  const asBearer = (token: string) => async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${gateway.httpUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : undefined) as Record<string, unknown>,
    };
  };

  beforeAll(async () => {
    store = await createTestDatabase();
    cleanups.push(store.drop);
    target = await createTestDatabase();
    cleanups.push(target.drop);
    await sql(targetUrl(), 'create table notes (id int)');
    gateway = await startTunnelGateway([], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    for (const name of ['requester', 'pipeline', 'deploy-step']) {
      const account = await gateway.api<{ clientSecret: string }>('POST', '/api/v1/service-accounts', {
        name,
        groups: [],
      });
      expect(account.status).toBe(201);
      secrets[name] = account.body.clientSecret;
    }
    const agentToken = await createAgent(gateway, 'edge');
    await createMachinePostgresConnection(gateway, 'pg', target.name, ['edge'], 'env:DOORS_DB_PASSWORD');
    processes.push(await spawnAgent(gateway.grpcUrl, agentToken, { env: { DOORS_DB_PASSWORD: 'unused' } }));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('a read-only just-in-time grant is read-only at the agent, for the grantee and its delegated tokens', async () => {
    const requester = await saToken('requester');
    const asked = await asBearer(requester)('POST', '/api/v1/access-requests', {
      connection: 'pg',
      verb: 'exec',
      duration: '10m',
      reason: 'incident 12',
    });
    expect(asked.status, JSON.stringify(asked.body)).toBe(201);
    const approved = await gateway.api('POST', `/api/v1/reviews/${asked.body['id'] as string}/approve`, {});
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);

    const child = await exchanged(requester, { scope: 'exec:pg' });
    for (const token of [requester, child]) {
      const write = await query(token, 'insert into notes values (1)');
      expect(write.status, JSON.stringify(write.lines)).toBe(200);
      expect(write.lines[1]).toMatchObject({ type: 'result' });
      expect(JSON.stringify(write.lines[1]['error'])).toMatch(/INSERT is not allowed in a read-only session/);
      const read = await query(token, 'select count(*) as n from notes');
      expect(read.lines[1]).toMatchObject({ type: 'result', rows: [['0']] });
    }
    expect(await sql(targetUrl(), 'select count(*)::int as n from notes')).toEqual([{ n: 0 }]);
  });

  it('a connection credential cannot ask for access beyond its scope (connect:pg does not ask for exec)', async () => {
    const created = await asBearer(await saToken('requester'))('POST', '/api/v1/api-keys', {
      name: 'bi-tool',
      scope: 'connect:pg',
      expiresInSeconds: 3600,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const credential = created.body['key'] as string;
    const asked = await asBearer(credential)('POST', '/api/v1/access-requests', {
      connection: 'pg',
      verb: 'exec',
      duration: '10m',
      reason: 'widen me',
    });
    expect(asked.status).toBe(403);
    expect(JSON.stringify(asked.body)).toMatch(/scope \(connect:pg\) does not include exec/);
    // Within its scope it may still ask.
    const within = await asBearer(credential)('POST', '/api/v1/access-requests', {
      connection: 'pg',
      verb: 'connect',
      duration: '10m',
      reason: 'read the dashboard',
    });
    expect(within.status, JSON.stringify(within.body)).toBe(201);
  });

  it('revoking a connection credential ends the live session it opened', async () => {
    const created = await gateway.api<{ key: string; prefix: string }>('POST', '/api/v1/api-keys', {
      name: 'pg-credential',
      scope: 'connect:pg',
      expiresInSeconds: 3600,
    });
    expect(created.status).toBe(201);
    const { run } = await napping(created.body.key, 'nap_of_credential');
    expect((await gateway.api('DELETE', `/api/v1/api-keys/${created.body.prefix}`)).status).toBe(204);
    const result = await run;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/FATAL: .*tollgate: session ended: .*revoked/);
    await expect.poll(() => running('nap_of_credential'), { timeout: 5_000 }).toBe('0');
  });

  it('disabling a service account acting in a chain ends the live sessions of the delegated tokens', async () => {
    const child = await exchanged(gateway.adminToken, {
      actor_token: await saToken('deploy-step'),
      actor_token_type: ACCESS,
    });
    const { run } = await napping(child, 'nap_of_disabled_actor');
    const disabled = await gateway.api('PATCH', '/api/v1/service-accounts/deploy-step', { disabled: true });
    expect(disabled.status).toBe(200);
    const result = await run;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/FATAL: .*tollgate: session ended: .*sa:deploy-step/);
    await expect.poll(() => running('nap_of_disabled_actor'), { timeout: 5_000 }).toBe('0');
    expect(
      (await gateway.api('PATCH', '/api/v1/service-accounts/deploy-step', { disabled: false })).status,
    ).toBe(200);
  });

  it('a descendant minted while its ancestor was being revoked does not keep its live session', async () => {
    const parent = await exchanged(gateway.adminToken);
    const child = await exchanged(parent);
    const { run } = await napping(child, 'nap_of_raced_child');
    // What a revocation that raced the child's mint leaves behind: the ancestor is revoked, the
    // child's own row is not (it was inserted after the revocation read the tree).
    await sql(store.url, 'update token_grants set revoked_at = now() where jti = $1', [jtiOf(parent)]);
    const result = await run;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/FATAL: .*tollgate: session ended: .*revoked/);
  });

  it('refuses audience, resource and requested_token_type it cannot honour, and records who tried', async () => {
    const holder = await saToken('pipeline');
    for (const [extra, error] of [
      [{ audience: 'https://billing.internal' }, 'invalid_target'],
      [{ resource: 'https://billing.internal/api' }, 'invalid_target'],
      [{ requested_token_type: 'urn:ietf:params:oauth:token-type:refresh_token' }, 'invalid_request'],
      [{ requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }, 'invalid_request'],
    ] as const) {
      const { status, body } = await exchange(holder, extra);
      expect(status, JSON.stringify(extra)).toBe(400);
      expect(body['error']).toBe(error);
    }
    // Its own audience, and an access token, are what it issues anyway.
    expect((await exchange(holder, { audience: 'tollgate', requested_token_type: ACCESS })).status).toBe(200);
    const refusals = (await gateway.auditRecords('token:exchange', { subject: 'sa:pipeline' })).filter(
      (r) => r.decision === 'deny',
    );
    expect(refusals.map((r) => r.reason)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/audience https:\/\/billing\.internal/),
        expect.stringMatching(/requested_token_type/),
      ]),
    );
  });

  it('scope omitted gives the parent its own scopes, never more; API keys are not subject tokens', async () => {
    const narrow = await saToken('pipeline', 'connect:pg');
    const child = await exchanged(narrow);
    const claims = JSON.parse(Buffer.from(child.split('.')[1], 'base64url').toString('utf8')) as {
      scope: string;
      exp: number;
    };
    expect(claims.scope).toBe('connect:pg');
    const exec = await query(child, 'select 1');
    expect(exec.status).toBe(403);
    const key = await gateway.api<{ key: string }>('POST', '/api/v1/api-keys', { name: 'subject-key' });
    const refused = await exchange(key.body.key);
    expect(refused.status).toBe(400);
  });
});
