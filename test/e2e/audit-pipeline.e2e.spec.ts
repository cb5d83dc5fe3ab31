import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  dial,
  readAll,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startPostgresCluster,
  startTcpTarget,
  serviceAccountToken,
  startTunnelGateway,
  TEST_BOOTSTRAP_ADMIN_SECRET,
  type CliProcess,
  type PostgresCluster,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';

/**
 * The audit pipeline end to end on a throwaway PostgreSQL cluster the test can stop: sessions are
 * recorded (open, close) on both chains, listed, inspected and killed; `tollgate audit verify`
 * catches an event altered in the database; with the store gone, nothing reaches the target.
 */
describe('audit pipeline (real gateway on a throwaway PostgreSQL, agent, CLI)', () => {
  const processes: CliProcess[] = [];
  let cluster: PostgresCluster;
  let gateway: TunnelGateway;
  let target: TcpTarget;
  const accepted: Socket[] = [];
  let connectPort: number;
  let databaseUrl: string;
  const tollgate = async (...args: string[]) => {
    const cli = spawnCli(args, { TOLLGATE_URL: gateway.httpUrl, TOLLGATE_TOKEN: gateway.adminToken });
    const code = await cli.exited();
    return { code, output: cli.output() };
  };
  const openSession = async () => {
    const socket = await dial(connectPort);
    const echoed = new Promise<string>((resolve) =>
      socket.once('data', (d: Buffer) => resolve(d.toString())),
    );
    socket.write('ping');
    expect(await echoed).toBe('ping');
    return socket;
  };

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    databaseUrl = `postgres://tg_scram:${encodeURIComponent(cluster.password)}@127.0.0.1:${cluster.port}/app`;
    gateway = await startTunnelGateway([], { DATABASE_URL: databaseUrl });
    processes.push(gateway.cli);
    target = await startTcpTarget((socket) => {
      accepted.push(socket);
      socket.pipe(socket);
    });
    const token = await createAgent(gateway, 'edge-1');
    await createTcpConnection(gateway, 'echo', target.port, ['edge-1']);
    processes.push(await spawnAgent(gateway.grpcUrl, token));
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo');
    processes.push(connect.cli);
    connectPort = connect.port;
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await target.close();
    cluster.stop();
  });

  it('records sessions, lists and inspects them, and kills a live one (client and target close)', async () => {
    const socket = await openSession();
    const list = await tollgate('sessions', 'list', '--state', 'open');
    const id = /^([0-9a-f-]{36})\s+open\s+\S+\s+sa:bootstrap-admin\s+echo\s+edge-1\s+default/m.exec(
      list.output,
    )?.[1];
    expect(id, list.output).toBeDefined();

    const targetSide = accepted.at(-1)!;
    const targetClosed = new Promise<void>((resolve) => targetSide.once('close', () => resolve()));
    const clientClosed = readAll(socket);
    const killed = await tollgate('sessions', 'kill', id!);
    expect(killed.output).toContain(`session ${id} killed`);
    await clientClosed;
    await targetClosed;

    await expect
      .poll(async () => (await tollgate('sessions', 'show', id!)).output, { timeout: 10_000 })
      .toMatch(/2 \S+ session\.close killed: killed by sa:bootstrap-admin/);
    const shown = await tollgate('sessions', 'show', id!);
    expect(shown.output).toMatch(/1 \S+ session\.open/);
    expect(shown.output).toMatch(new RegExp(`session\\s+${id} \\(closed\\)`));

    const exported = await tollgate(
      'audit',
      'export',
      '--since',
      new Date(Date.now() - 3_600_000).toISOString(),
    );
    const records = exported.output
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { action: string; payload: { sessionId?: string } });
    expect(records.filter((r) => r.payload.sessionId === id).map((r) => r.action)).toEqual([
      'session.open',
      'session.close',
    ]);
  });

  it('kills a session through another gateway replica: the relaying replica ends it within 1 s', async () => {
    const other = await startTunnelGateway([], { DATABASE_URL: databaseUrl });
    processes.push(other.cli);
    const socket = await openSession();
    // The row's open state rides with the audit log's next commit (within ~50 ms), so the list
    // shows the session as open a moment after its first bytes went through.
    let found: string | undefined;
    await expect
      .poll(
        async () =>
          (found = (
            await other.api<{ items: { id: string; state: string }[] }>('GET', '/api/v1/sessions?state=open')
          ).body.items[0]?.id),
        { timeout: 10_000, interval: 100 },
      )
      .toBeDefined();
    if (!found) throw new Error('no open session listed');
    const id = found;
    const targetSide = accepted.at(-1)!;
    const targetClosed = new Promise<void>((resolve) => targetSide.once('close', () => resolve()));
    const clientClosed = readAll(socket);
    const askedAt = Date.now();
    const killed = await other.api('POST', `/api/v1/sessions/${id}/kill`);
    expect(killed.status).toBe(202);
    await clientClosed;
    await targetClosed;
    expect(Date.now() - askedAt).toBeLessThan(1000);
    await expect
      .poll(async () => (await tollgate('sessions', 'show', id)).output, { timeout: 10_000 })
      .toMatch(/session\.close killed: killed by sa:bootstrap-admin/);
    // Once closed, a second kill says so.
    expect((await other.api('POST', `/api/v1/sessions/${id}/kill`)).status).toBe(409);
  });

  it('revoking the access token a live session was opened with ends the session within 1 s', async () => {
    const { access_token: token } = await serviceAccountToken(
      gateway.httpUrl,
      'bootstrap-admin',
      TEST_BOOTSTRAP_ADMIN_SECRET,
    );
    const jti = (
      JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { jti: string }
    ).jti;
    const connect = await spawnConnect(gateway.grpcUrl, token, 'echo');
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    const echoed = new Promise<string>((resolve) =>
      socket.once('data', (d: Buffer) => resolve(d.toString())),
    );
    socket.write('before');
    expect(await echoed).toBe('before');
    const targetSide = accepted.at(-1)!;
    const targetClosed = new Promise<void>((resolve) => targetSide.once('close', () => resolve()));
    const clientClosed = readAll(socket);
    const revokedAt = Date.now();
    expect((await gateway.api('POST', `/api/v1/tokens/${jti}/revoke`)).status).toBe(200);
    await clientClosed;
    await targetClosed;
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  });

  it('`tollgate audit verify` names an event altered directly in the database', async () => {
    const intact = await tollgate('audit', 'verify');
    expect(intact.code).toBe(0);
    expect(intact.output).toMatch(/audit log intact: \d+ records in the global chain/);

    const [sessionId, rowId] = cluster
      .sql(`SELECT session_id, id FROM session_events WHERE kind = 'session.open' ORDER BY id LIMIT 1`, 'app')
      .trim()
      .split('|');
    cluster.sql(
      `UPDATE session_events SET payload = jsonb_set(payload, '{source}', '"10.6.6.6:1"') WHERE id = ${Number(rowId)}`,
      'app',
    );
    const tampered = await tollgate('audit', 'verify');
    expect(tampered.code).toBe(1);
    expect(tampered.output).toContain(
      `TAMPERED session ${sessionId}: record 1 (row id ${rowId}) altered: record 1 does not match its hash`,
    );
  });

  it('a session whose open event cannot be recorded is refused before the agent dials the target', async () => {
    // Everything else works (token, authorization, session row); only the audit event is refused.
    cluster.sql(
      `CREATE FUNCTION refuse_open() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'audit disk full'; END $$;
       CREATE TRIGGER refuse_open BEFORE INSERT ON session_events
         FOR EACH ROW WHEN (NEW.kind = 'session.open') EXECUTE FUNCTION refuse_open();`,
      'app',
    );
    const before = accepted.length;
    const sessionsBefore = cluster.sql('SELECT count(*) FROM sessions', 'app').trim();
    const socket = await dial(connectPort);
    const result = readAll(socket);
    socket.write('must not arrive');
    expect((await result).data.toString()).toBe('');
    expect(accepted.length).toBe(before);
    // The session row and its open event are one write: neither is left behind, and the gateway's
    // log says why the session was refused.
    expect(cluster.sql('SELECT count(*) FROM sessions', 'app').trim()).toBe(sessionsBefore);
    await gateway.cli.waitFor(/session refused: the audit store could not record it/, 10_000);
    cluster.sql('DROP TRIGGER refuse_open ON session_events', 'app');
    (await openSession()).destroy();
    expect(accepted.length).toBe(before + 1);
  });

  it('with the store down, a new session is refused and nothing reaches the target', async () => {
    const before = accepted.length;
    cluster.stop();
    const socket = await dial(connectPort);
    const result = readAll(socket);
    socket.write('must not arrive');
    const { data } = await result;
    expect(data.toString()).toBe('');
    expect(accepted.length).toBe(before);
  });
});
