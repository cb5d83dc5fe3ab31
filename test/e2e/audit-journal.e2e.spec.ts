import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createMachinePostgresConnection,
  createTestDatabase,
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
const STRICT = `${POLICY}audit:
  - name: strict-here
    match: {connections: [pg-journal]}
    mode: gateway
`;

interface SessionDetail {
  events: { kind: string; event: { command?: string; journal?: { chain: string; seq: number } } }[];
}

/**
 * The edge audit mode with real processes: `tollgate connect` → gateway → agent (its journal on a
 * small tmpfs of its own) → PostgreSQL. The gateway's store is made to refuse the shipped records
 * with a trigger (the agent cannot ship: an outage of the gateway's audit path while the data path
 * is up), the agent is SIGKILLed and restarted, its disk filled and its journal edited.
 */
describe('the audit journal at the edge (agent journal, shipping, lag bound, full disk, tampering)', () => {
  let gateway: TunnelGateway;
  let agent: CliProcess;
  let agentToken: string;
  let port: number;
  let storeUrl: string;
  let targetUrl: string;
  let dataDir: string;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];

  const onStore = async (statement: string) => {
    const client = new Client({ connectionString: storeUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  };
  /** The gateway's store refuses journaled records (the gateway cannot acknowledge them). */
  const refuseShipping = () =>
    onStore(`CREATE OR REPLACE FUNCTION refuse_journal() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN RAISE EXCEPTION 'audit store unavailable'; END $$;
             CREATE TRIGGER refuse_journal BEFORE INSERT ON session_events
               FOR EACH ROW WHEN (NEW.payload ? 'journal') EXECUTE FUNCTION refuse_journal();`);
  const acceptShipping = () => onStore('DROP TRIGGER IF EXISTS refuse_journal ON session_events');

  const startAgent = async () => {
    agent = await spawnAgent(gateway.grpcUrl, agentToken, {
      env: {
        JOURNAL_DB_PASSWORD: 'trust',
        TOLLGATE_AGENT_DATA_DIR: dataDir,
        TOLLGATE_AGENT_JOURNAL_MAX_LAG: '2s, 1000 events',
        TOLLGATE_AGENT_DRAIN_TIMEOUT_MS: '1000',
      },
    });
    processes.push(agent);
  };
  const session = async () => {
    const client = new Client({ host: '127.0.0.1', port, user: 'postgres', database: 'app' });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  /** Every command event of the connection's sessions, as the gateway stored them. */
  const commands = async () => {
    const list = await gateway.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/sessions?connection=pg-journal&limit=1000',
    );
    const found: { command: string; journal?: { chain: string; seq: number } }[] = [];
    if (!Array.isArray(list.body.items))
      throw new Error(`sessions: ${list.status} ${JSON.stringify(list.body)}`);
    for (const item of list.body.items) {
      const detail = await gateway.api<SessionDetail>('GET', `/api/v1/sessions/${item.id}`);
      if (!Array.isArray(detail.body.events))
        throw new Error(`session: ${detail.status} ${JSON.stringify(detail.body)}`);
      for (const e of detail.body.events) {
        if (e.kind === 'command' && e.event.command) {
          found.push({ command: e.event.command, ...(e.event.journal ? { journal: e.event.journal } : {}) });
        }
      }
    }
    return found;
  };
  const recorded = async (text: string) => (await commands()).filter((c) => c.command.includes(text)).length;
  const rowsAtTarget = async () => {
    const client = new Client({ connectionString: targetUrl });
    await client.connect();
    try {
      return (await client.query<{ v: string }>('SELECT v FROM marks ORDER BY v')).rows.map((r) => r.v);
    } finally {
      await client.end();
    }
  };
  const verify = async () => {
    const cli = spawnCli(['audit', 'verify'], {
      TOLLGATE_URL: gateway.httpUrl,
      TOLLGATE_TOKEN: gateway.adminToken,
    });
    const code = await cli.exited();
    return { code, output: cli.output() };
  };

  beforeAll(async () => {
    // A disk of its own for the agent's journal, small enough to fill.
    dataDir = mkdtempSync(join(tmpdir(), 'tollgate-journal-disk-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dataDir]);
    cleanups.push(() => {
      execFileSync('umount', ['-l', dataDir]);
      rmSync(dataDir, { recursive: true, force: true });
    });
    const store = await createTestDatabase();
    storeUrl = store.url;
    cleanups.push(store.drop);
    const target = await createTestDatabase();
    targetUrl = target.url;
    cleanups.push(target.drop);
    const setup = new Client({ connectionString: targetUrl });
    await setup.connect();
    await setup.query('CREATE TABLE marks (v text)');
    await setup.end();
    gateway = await startTunnelGateway([], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    agentToken = await createAgent(gateway, 'edge-journal');
    await createMachinePostgresConnection(
      gateway,
      'pg-journal',
      target.name,
      ['edge-journal'],
      'env:JOURNAL_DB_PASSWORD',
    );
    await startAgent();
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'pg-journal');
    processes.push(connect.cli);
    port = connect.port;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('journals each command at the agent and ships it: it lands in the session chain, linked to the agent chain', async () => {
    const client = await session();
    await client.query("INSERT INTO marks VALUES ('edge-1')");
    await client.end();
    await expect.poll(() => recorded("'edge-1'"), { timeout: 15_000 }).toBe(1);
    const [event] = (await commands()).filter((c) => c.command.includes("'edge-1'"));
    expect(event?.journal).toMatchObject({
      chain: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      seq: 1,
    });
    const verified = await verify();
    expect(verified.code).toBe(0);
    expect(verified.output).toMatch(/audit log intact: .* \d+ events in 1 agent journal chains/);
  });

  it('SIGKILL between journal write and shipping: the restarted agent ships them first, each once, chain intact', async () => {
    const client = await session();
    await refuseShipping();
    // The gateway cannot take them, but the agent's journal has them: the commands run.
    await client.query("INSERT INTO marks VALUES ('unshipped-1')");
    await client.query("INSERT INTO marks VALUES ('unshipped-2')");
    await agent.stop('SIGKILL');
    expect(await recorded('unshipped')).toBe(0);
    await acceptShipping();
    await startAgent();
    await expect.poll(() => recorded('unshipped'), { timeout: 20_000 }).toBe(2);
    // The killed journal also still held 'edge-1' (shipped before): sent again, stored once.
    expect(await recorded("'edge-1'")).toBe(1);
    expect(await rowsAtTarget()).toEqual(['edge-1', 'unshipped-1', 'unshipped-2']);
    expect((await verify()).code).toBe(0);
  });

  it('a backlog older than TOLLGATE_AGENT_JOURNAL_MAX_LAG refuses commands until it drains; a draining agent ships before it exits', async () => {
    const client = await session();
    const last = await session();
    await refuseShipping();
    await client.query("INSERT INTO marks VALUES ('lagging-1')");
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const refused = await client.query("INSERT INTO marks VALUES ('lagging-2')").catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(
      /audit log could not record the command \(the agent's audit journal holds \d+ event\(s\) the gateway has not acknowledged.*TOLLGATE_AGENT_JOURNAL_MAX_LAG allows 2 s/,
    );
    await acceptShipping();
    await expect
      .poll(
        () =>
          client.query("INSERT INTO marks VALUES ('resumed')").then(
            () => true,
            () => false,
          ),
        {
          timeout: 15_000,
        },
      )
      .toBe(true);
    await client.end();
    // Drain: events journaled while the gateway cannot take them are shipped before the agent exits.
    await refuseShipping();
    await last.query("INSERT INTO marks VALUES ('drained')");
    agent.child.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(agent.child.exitCode).toBeNull();
    await acceptShipping();
    await last.end().catch(() => undefined);
    expect(await agent.exited()).toBe(0);
    expect(await recorded("'drained'")).toBe(1);
    expect(await recorded("'lagging-1'")).toBe(1);
    expect(await rowsAtTarget()).not.toContain('lagging-2');
    await startAgent();
  });

  it('a full disk refuses the command (it does not run); freed, commands run again', async () => {
    const filler = join(dataDir, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
    } catch {
      // ENOSPC: the disk is full now, which is the point.
    }
    const client = await session();
    // The journal's segment may still have room written ahead (it grows in zero-filled steps of
    // 64 KiB, about a hundred of these commands with their results); the disk is full after that.
    let refusal: Error | undefined;
    let refusedAt = -1;
    for (let i = 0; i < 400 && !refusal; i++) {
      refusal = await client.query(`INSERT INTO marks VALUES ('full-${i}')`).then(
        () => undefined,
        (e: Error) => e,
      );
      refusedAt = i;
    }
    expect(refusal?.message).toMatch(
      /audit journal could not be written .*ENOSPC.*so the command was not run/,
    );
    const rows = await rowsAtTarget();
    // Every command before the refused one ran; the refused one did not.
    expect(rows.filter((v) => v.startsWith('full-'))).toHaveLength(refusedAt);
    expect(rows).not.toContain(`full-${refusedAt}`);
    rmSync(filler, { force: true });
    await client.query("INSERT INTO marks VALUES ('disk-freed')");
    await client.end();
    await expect.poll(() => recorded("'disk-freed'"), { timeout: 15_000 }).toBe(1);
    expect((await verify()).code).toBe(0);
  });

  /** Applies a policy and waits until the agent enforces it (it takes it up within a heartbeat). */
  const applyPolicy = async (document: string) => {
    const applied = await gateway.api<{ version: number }>('POST', '/api/v1/policy', { document });
    expect(applied.status).toBe(201);
    await expect
      .poll(
        async () =>
          (await gateway.api<{ policyVersion: number | null }>('GET', '/api/v1/agents/edge-journal')).body
            .policyVersion,
        { timeout: 20_000, interval: 200 },
      )
      .toBe(applied.body.version);
  };

  it('strict mode per connection (audit: gateway): the gateway commits before the agent forwards', async () => {
    await applyPolicy(STRICT);
    await onStore(`CREATE OR REPLACE FUNCTION refuse_command() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION 'audit disk full'; END $$;
                   CREATE TRIGGER refuse_command BEFORE INSERT ON session_events
                     FOR EACH ROW WHEN (NEW.kind = 'command') EXECUTE FUNCTION refuse_command();`);
    try {
      // The agent applies the new policy within a heartbeat; a session opened after it is strict.
      await expect
        .poll(
          async () => {
            const client = await session();
            const outcome = await client.query("INSERT INTO marks VALUES ('strict-1')").then(
              () => 'ran',
              (e: Error) => e.message,
            );
            await client.end();
            return outcome;
          },
          { timeout: 20_000, interval: 500 },
        )
        .toMatch(/the audit log could not record the command \(the audit store refused the event\)/);
    } finally {
      await onStore('DROP TRIGGER IF EXISTS refuse_command ON session_events');
    }
    const client = await session();
    await client.query("INSERT INTO marks VALUES ('strict-2')");
    await client.end();
    expect(await recorded("'strict-2'")).toBe(1);
    const [strict] = (await commands()).filter((c) => c.command.includes("'strict-2'"));
    expect(strict?.journal).toBeUndefined();
    // Back to edge mode before the next test opens a session.
    await applyPolicy(POLICY);
  });

  it('a journal edited before it was shipped: audit verify names the agent chain and the record', async () => {
    const client = await session();
    await refuseShipping();
    await client.query("INSERT INTO marks VALUES ('the-truth')");
    await agent.stop('SIGKILL');
    await client.end().catch(() => undefined);
    const root = join(dataDir, 'journal');
    const [tokenDir] = readdirSync(root);
    let edited: { chain: string; seq: number } | undefined;
    for (const chain of readdirSync(join(root, tokenDir))) {
      const dir = join(root, tokenDir, chain);
      for (const file of readdirSync(dir).filter((f) => f.startsWith('segment-'))) {
        const text = readFileSync(join(dir, file), 'utf8');
        const line = text.split('\n').find((l) => l.includes('the-truth') && l.includes('"type":"command"'));
        if (!line) continue;
        edited = { chain, seq: Number(line.split(' ')[0]) };
        writeFileSync(join(dir, file), text.replace("'the-truth'", "'a-lie'"));
      }
    }
    expect(edited).toBeDefined();
    await acceptShipping();
    await startAgent();
    await expect.poll(() => recorded("'a-lie'"), { timeout: 20_000 }).toBe(1);
    const verified = await verify();
    expect(verified.code).toBe(1);
    expect(verified.output).toContain(
      `TAMPERED agent edge-journal journal ${edited!.chain}: record ${edited!.seq}`,
    );
  });
});
