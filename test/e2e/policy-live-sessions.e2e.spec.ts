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
  const session = async () => {
    const client = new Client({ host: '127.0.0.1', port, user: 'me', database: 'app' });
    client.on('error', () => undefined);
    await client.connect();
    return client;
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

  it('masking added while the session is open ends it; the next session reads masked values', async () => {
    const client = await session();
    try {
      expect((await client.query('select email from people')).rows).toEqual([{ email: 'ada@example.com' }]);
      await apply(MASKED, 3);
      const after = await client.query<{ email: string }>('select email from people').then(
        (result) => result.rows,
        (error: unknown) => error,
      );
      expect(after).toBeInstanceOf(Error);
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
});
