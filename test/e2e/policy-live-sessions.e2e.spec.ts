import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createMachinePostgresConnection,
  createTestDatabase,
  MACHINE_POSTGRES,
  spawnAgent,
  spawnConnect,
  startEchoStack,
  type CliProcess,
  type EchoStack,
} from '@tollgate/testing';

const ROLES = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
`;

const NO_DELETE = `${ROLES}guardrails:
  - name: no-delete
    match: { connections: [pg] }
    deny: { statements: [DELETE], message: deletes are off on pg }
`;

const MASKED = `${NO_DELETE}masking:
  - name: pii
    match: { connections: [pg] }
    detectors: [email]
`;

const MASKED_BY_TAG = `${NO_DELETE}masking:
  - name: pii
    match: { connections: ['tag:pii=true'] }
    detectors: [email]
`;

/**
 * A policy version applied while a session runs governs that session from its next command: a
 * guardrail added then refuses the session's next statement, and masking added then is not escaped
 * by staying connected (the session ends; a new one is masked). Real gateway, agent, `tollgate
 * connect` and the machine's PostgreSQL.
 */
describe('a policy applied while a session runs governs its next command', () => {
  let stack: EchoStack;
  let agent: CliProcess;
  let target: Awaited<ReturnType<typeof createTestDatabase>>;
  let port: number;

  const targetSql = async (sql: string): Promise<string> => {
    const client = new Client({ ...MACHINE_POSTGRES, database: target.name });
    await client.connect();
    try {
      const { rows } = await client.query<Record<string, unknown>>(sql);
      return String(Object.values(rows[0] ?? {})[0]);
    } finally {
      await client.end();
    }
  };
  /** Applies a version and waits until the agent enforces it. */
  const apply = async (document: string, version: number) => {
    expect((await stack.gateway.api('POST', '/api/v1/policy', { document })).status).toBe(201);
    await agent.waitFor(new RegExp(`"policyVersion":${version},[^\\n]*"msg":"bundle applied"`));
  };
  /** How each session's connection failed (a FATAL arriving while idle is an 'error' event). */
  const failures = new Map<Client, unknown[]>();
  const session = async () => {
    const client = new Client({ host: '127.0.0.1', port, user: 'me', database: 'app' });
    const seen: unknown[] = [];
    failures.set(client, seen);
    client.on('error', (error) => seen.push(error));
    await client.connect();
    return client;
  };
  /** How many times the agent has logged `msg` so far. */
  const logged = (msg: string) => agent.output().split(`"msg":"${msg}"`).length - 1;
  /** Runs a statement that must not run: resolves with what the client was told instead. */
  const refused = async (client: Client, sql: string) => {
    const outcome = await client.query(sql).then(
      () => 'ran',
      (error: unknown) => error,
    );
    expect(outcome).not.toBe('ran');
    const told = [...(failures.get(client) ?? []), outcome] as { severity?: string; message?: string }[];
    return told.find((error) => error.severity === 'FATAL');
  };

  beforeAll(async () => {
    stack = await startEchoStack();
    target = await createTestDatabase();
    stack.cleanups.push(target.drop);
    for (const sql of [
      'create table victim (id int)',
      'insert into victim values (1)',
      'create table people (email text)',
      "insert into people values ('ada@example.com')",
    ])
      await targetSql(sql);
    expect((await stack.gateway.api('POST', '/api/v1/policy', { document: ROLES })).status).toBe(201);
    const token = await createAgent(stack.gateway, 'edge');
    await createMachinePostgresConnection(stack.gateway, 'pg', target.name, ['edge'], 'env:LIVE_DB_PASSWORD');
    agent = await spawnAgent(stack.gateway.grpcUrl, token, { env: { LIVE_DB_PASSWORD: 'trusted' } });
    stack.processes.push(agent);
    const connect = await spawnConnect(stack.gateway.grpcUrl, stack.gateway.adminToken, 'pg');
    stack.processes.push(connect.cli);
    port = connect.port;
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('a guardrail added while the session is open refuses its next statement; the session goes on', async () => {
    const client = await session();
    try {
      expect((await client.query('select count(*)::int as n from victim')).rows).toEqual([{ n: 1 }]);
      await apply(NO_DELETE, 2);
      await expect(client.query('delete from victim')).rejects.toThrow(/deletes are off on pg/);
      expect(await targetSql('select count(*) from victim')).toBe('1');
      expect((await client.query('select count(*)::int as n from victim')).rows).toEqual([{ n: 1 }]);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it('a policy version the agent cannot evaluate ends its open session before the next statement reaches the target', async () => {
    const client = await session();
    const store = new Client({ connectionString: stack.databaseUrl });
    await store.connect();
    try {
      await client.query('insert into victim values (2)');
      expect(await targetSql('select count(*) from victim')).toBe('2');
      // A newer version whose document this agent cannot evaluate (written by a gateway of a later
      // release, or a damaged store). The gateway pushes it at the agent's next heartbeat.
      await store.query(`update policy_versions set active = false where active;
        insert into policy_versions (id, version, document, sha256, author, comment, active)
        select gen_random_uuid(), max(version) + 1, $$${NO_DELETE}bogus_section: true\n$$, 'unchecked',
               'sa:later-release', 'a document this agent cannot evaluate', true from policy_versions`);
      await agent.waitFor(/"msg":"bundle rejected"/);
      // The client is told in its own protocol: a FATAL ErrorResponse with the reason. The agent
      // ends it (it cannot evaluate the version), or the gateway first (the version, unreadable
      // there too, allows nothing).
      expect((await refused(client, 'insert into victim values (3)'))?.message).toMatch(
        /^tollgate: session ended: (this agent cannot evaluate the active policy \(policy version 3 does not validate: |policy version 3 no longer allows this session)/,
      );
      expect(await targetSql('select count(*) from victim')).toBe('2');
    } finally {
      await client.end().catch(() => undefined);
      await store.query(`delete from policy_versions where document like '%bogus_section%';
        update policy_versions set active = true where version = (select max(version) from policy_versions)`);
      await store.end();
    }
    await agent.waitFor(
      /"policyVersion":2,[^\n]*"msg":"bundle applied"[^]*"policyVersion":2,[^\n]*"msg":"bundle applied"/,
    );
  });

  it('masking added while the session is open ends it; the next session reads masked values', async () => {
    const client = await session();
    try {
      expect((await client.query('select email from people')).rows).toEqual([{ email: 'ada@example.com' }]);
      await apply(MASKED, 3);
      expect((await refused(client, 'select email from people'))?.message).toBe(
        "tollgate: session ended: policy version 3 changes this session's masking; reconnect to work under it",
      );
    } finally {
      await client.end().catch(() => undefined);
    }
    const next = await session();
    try {
      const { rows } = await next.query<{ email: string }>('select email from people');
      expect(rows).toHaveLength(1);
      expect(rows[0]?.email).not.toBe('ada@example.com');
    } finally {
      await next.end().catch(() => undefined);
    }
  });

  it('a connection retagged into a masking rule while a session is open ends it; the next session reads masked values', async () => {
    await apply(MASKED_BY_TAG, 4);
    const client = await session();
    try {
      expect((await client.query('select email from people')).rows).toEqual([{ email: 'ada@example.com' }]);
      const bundles = logged('bundle applied');
      expect(
        (await stack.gateway.api('PATCH', '/api/v1/connections/pg', { tags: { pii: 'true' } })).status,
      ).toBe(200);
      await expect.poll(() => logged('bundle applied'), { timeout: 15_000 }).toBeGreaterThan(bundles);
      expect((await refused(client, 'select email from people'))?.message).toBe(
        "tollgate: session ended: policy version 4 changes this session's masking; reconnect to work under it",
      );
    } finally {
      await client.end().catch(() => undefined);
    }
    const next = await session();
    try {
      const { rows } = await next.query<{ email: string }>('select email from people');
      expect(rows[0]?.email).not.toBe('ada@example.com');
    } finally {
      await next.end().catch(() => undefined);
    }
  });
});
