import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createMachinePostgresConnection,
  createTestDatabase,
  printOutputOnFailure,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startTunnelGateway,
  type CliProcess,
  type TunnelGateway,
} from '@tollgate/testing';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins', 'sa:bootstrap-admin']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
`;

/**
 * One poison record in an agent's journal (edge audit mode) with real processes: `tollgate
 * connect` → gateway → agent → PostgreSQL. The gateway's store refuses one statement's events as
 * data (a check constraint on session_events, SQLSTATE 23514); the agent keeps shipping, commands
 * keep running well past the lag bound, and `audit verify` lists the quarantined record.
 */
describe('one bad journal record does not wedge an agent', () => {
  let gateway: TunnelGateway;
  let port: number;
  let storeUrl: string;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  printOutputOnFailure(() => processes);

  const onStore = async <T extends Record<string, unknown>>(statement: string): Promise<T[]> => {
    const client = new Client({ connectionString: storeUrl });
    await client.connect();
    try {
      return (await client.query<T>(statement)).rows;
    } finally {
      await client.end();
    }
  };
  const session = async () => {
    const client = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'app' });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  /** How many journaled command events of the store name `text`. */
  const recorded = async (text: string) =>
    Number(
      (
        await onStore<{ n: string }>(
          `SELECT count(*) AS n FROM session_events WHERE kind = 'command' AND payload ? 'journal'
             AND payload->>'command' LIKE '%${text}%'`,
        )
      )[0]?.n,
    );

  beforeAll(async () => {
    const store = await createTestDatabase();
    storeUrl = store.url;
    cleanups.push(store.drop);
    const target = await createTestDatabase();
    cleanups.push(target.drop);
    gateway = await startTunnelGateway([], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-poison');
    await createMachinePostgresConnection(
      gateway,
      'pg-poison',
      target.name,
      ['edge-poison'],
      'env:POISON_DB_PASSWORD',
    );
    processes.push(
      await spawnAgent(gateway.grpcUrl, agentToken, {
        env: { POISON_DB_PASSWORD: 'trust', TOLLGATE_AGENT_JOURNAL_MAX_LAG: '2s, 1000 events' },
      }),
    );
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'pg-poison');
    processes.push(connect.cli);
    port = connect.port;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('quarantines the record the store refuses, keeps shipping the rest past the lag bound, and verify lists it', async () => {
    await onStore(
      `ALTER TABLE session_events ADD CONSTRAINT no_poison CHECK (payload::text NOT LIKE '%poison-marker%') NOT VALID`,
    );
    const poisoned = await session();
    await poisoned.query("SELECT 'poison-marker' AS p");
    const other = await session();
    await other.query("SELECT 'after-poison-1'");
    await expect.poll(() => recorded('after-poison-1'), { timeout: 20_000 }).toBe(1);

    // Longer than the lag bound (2 s): a wedged agent would refuse commands by now.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect((await other.query("SELECT 'after-poison-2' AS v")).rows).toEqual([{ v: 'after-poison-2' }]);
    await expect.poll(() => recorded('after-poison-2'), { timeout: 20_000 }).toBe(1);
    await poisoned.end();
    await other.end();

    const kept = await onStore<{ agent: string; seq: number; reason: string; text: string }>(
      `SELECT agent, seq, reason, convert_from(bytes, 'UTF8') AS text FROM journal_quarantine ORDER BY seq`,
    );
    // The command and its result both name the marker.
    expect(kept.length).toBeGreaterThanOrEqual(1);
    for (const row of kept) {
      expect(row.agent).toBe('edge-poison');
      expect(row.text).toContain("SELECT 'poison-marker' AS p");
      expect(row.reason).toMatch(/the audit store refused record \d+: .*no_poison/);
    }
    const alerts = await onStore<{ n: string }>(
      `SELECT count(*) AS n FROM audit_entries WHERE action = 'journal.rejected'`,
    );
    expect(Number(alerts[0]?.n)).toBe(kept.length);

    const cli = spawnCli(['audit', 'verify'], {
      TOLLGATE_URL: gateway.httpUrl,
      TOLLGATE_TOKEN: gateway.adminToken,
    });
    const code = await cli.exited();
    const output = cli.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/audit log intact: /);
    expect(output).toMatch(
      new RegExp(
        `QUARANTINED agent edge-poison journal [0-9a-f-]+: record ${kept[0].seq} \\(quarantine id \\d+, session [0-9a-f-]+\\): the audit store refused`,
      ),
    );
    await onStore('ALTER TABLE session_events DROP CONSTRAINT no_poison');
  });
});
