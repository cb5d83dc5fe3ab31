import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  attachGateway,
  createAgent,
  createTcpConnection,
  dial,
  readAll,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startEchoStack,
  TEST_BOOTSTRAP_ADMIN_SECRET,
  type CliProcess,
  type EchoStack,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';
import type { Socket } from 'node:net';

/** Opens a socket through `connect` and waits for one echoed round trip. */
async function openEchoSession(port: number): Promise<Socket> {
  const socket = await dial(port);
  socket.on('error', () => undefined);
  socket.write('hello');
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  return socket;
}

function logTimes(output: string, msg: string): number[] {
  return output
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => (JSON.parse(line) as { time: number }).time);
}

describe('HA and gateway restarts (real processes)', () => {
  let stack: EchoStack | undefined;
  let processes: CliProcess[];
  let gateway: TunnelGateway;
  let echo: TcpTarget;
  let dbUrl: string;

  beforeAll(async () => {
    stack = await startEchoStack();
    ({ gateway, echo, processes, databaseUrl: dbUrl } = stack);
  });

  afterAll(() => stack?.stop());

  it('spreads sessions over the agents serving a connection; when one dies, new sessions go to the other', async () => {
    const tokens = [await createAgent(gateway, 'ha-1'), await createAgent(gateway, 'ha-2')];
    await createTcpConnection(gateway, 'echo-ha', echo.port, ['ha-1', 'ha-2']);
    const [first, second] = await Promise.all(tokens.map((t) => spawnAgent(gateway.grpcUrl, t)));
    processes.push(first, second);
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo-ha');
    processes.push(connect.cli);

    const open: Socket[] = [];
    for (let i = 0; i < 6; i++) open.push(await openEchoSession(connect.port));
    const via = (name: string) => connect.cli.output().split(`via agent ${name}`).length - 1;
    expect(via('ha-1')).toBe(3);
    expect(via('ha-2')).toBe(3);

    // Sessions were opened one after another, so the n-th "via agent" line is the n-th socket's.
    const agents = [...connect.cli.output().matchAll(/via agent (ha-\d)/g)].map((m) => m[1]);
    const onFirst = open.filter((_, i) => agents[i] === 'ha-1');
    const onSecond = open.filter((_, i) => agents[i] === 'ha-2');
    const lost = onFirst.map((socket) => readAll(socket));
    await first.stop('SIGKILL');
    // The sessions that ran through ha-1 end (reset) instead of hanging; ha-2's keep working.
    for (const result of await Promise.all(lost)) expect(result.error).toBe('ECONNRESET');
    for (const socket of onSecond) {
      socket.write('still');
      await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    }

    const before = via('ha-2');
    for (let i = 0; i < 4; i++) {
      const socket = await openEchoSession(connect.port);
      socket.destroy();
    }
    expect(via('ha-2')).toBe(before + 4);
    expect(via('ha-1')).toBe(3);
    for (const socket of open) socket.destroy();
  });

  it('an agent at capacity refuses; the gateway tries the others and says why when none can take it', async () => {
    const tokens = [await createAgent(gateway, 'cap-1'), await createAgent(gateway, 'cap-2')];
    await createTcpConnection(gateway, 'echo-cap', echo.port, ['cap-1', 'cap-2']);
    const env = { TOLLGATE_AGENT_MAX_SESSIONS: '1' };
    const agents = await Promise.all(tokens.map((t) => spawnAgent(gateway.grpcUrl, t, { env })));
    processes.push(...agents);
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo-cap');
    processes.push(connect.cli);

    const first = await openEchoSession(connect.port);
    const second = await openEchoSession(connect.port);
    expect(connect.cli.output()).toContain('via agent cap-1');
    expect(connect.cli.output()).toContain('via agent cap-2');

    const third = await dial(connect.port);
    expect((await readAll(third)).error).toBe('ECONNRESET');
    const refusal = await connect.cli.waitFor(
      /echo-cap: agent offline: .*could take the session \((.*)\)/,
      10_000,
    );
    expect(refusal[1]).toMatch(
      /cap-\d: the agent already serves its maximum of 1 sessions; cap-\d: the agent already/,
    );

    first.destroy();
    await connect.cli.waitFor(/session \S+ (closed|ended)/, 10_000);
    const fourth = await openEchoSession(connect.port);
    fourth.destroy();
    second.destroy();
  });

  it('gateway SIGKILL: in-flight sessions end with a clear error and are closed as lost; agents are back within 5 s of the restart', async () => {
    const token = await createAgent(gateway, 'survivor');
    await createTcpConnection(gateway, 'echo-restart', echo.port, ['survivor']);
    const agent = await spawnAgent(gateway.grpcUrl, token);
    processes.push(agent);
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo-restart');
    processes.push(connect.cli);
    const inFlight = await openEchoSession(connect.port);
    const ended = readAll(inFlight);
    const [, sessionId] = await connect.cli.waitFor(/session (\S+) open via agent survivor/);

    await gateway.cli.stop('SIGKILL');
    const result = await ended;
    expect(result.error).toBe('ECONNRESET');
    await connect.cli.waitFor(/session \S+ ended: .+/, 10_000);

    const restarted = spawnCli(
      ['gateway', '--http-port', '0', '--grpc-port', String(gateway.grpcPort), '--log-format', 'json'],
      {
        DATABASE_URL: dbUrl,
        TOLLGATE_BOOTSTRAP_ADMIN_SECRET: TEST_BOOTSTRAP_ADMIN_SECRET,
        // Survivors close a dead replica's sessions this long after its last heartbeat (default 20 s).
        TOLLGATE_REPLICA_LIVENESS_MS: '2000',
      },
    );
    processes.push(restarted);
    gateway = await attachGateway(restarted);
    const ready = logTimes(restarted.output(), 'gateway listening')[0];
    await agent.waitFor(/"msg":"agent registered"[\s\S]*"msg":"agent registered"/, 15_000);
    const back = logTimes(agent.output(), 'agent registered')[1];
    expect(back - ready).toBeLessThan(5_000);

    // The same `tollgate connect` keeps working through the new gateway process.
    const socket = await openEchoSession(connect.port);
    socket.destroy();
    const status = await gateway.api<{ status: string }>('GET', '/api/v1/agents/survivor');
    expect(status.body.status).toBe('online');

    // The session the killed process relayed does not stay open: its successor closed it as lost.
    const session = async () =>
      (
        await gateway.api<{
          state: string;
          closeReason: string;
          events: { kind: string; event: { reason?: string } }[];
        }>('GET', `/api/v1/sessions/${sessionId}`)
      ).body;
    await expect.poll(async () => (await session()).state, { timeout: 10_000 }).toBe('closed');
    const closed = await session();
    expect(closed.closeReason).toMatch(/^lost: the gateway replica relaying it \(gw-[0-9a-f-]+\) stopped$/);
    expect(closed.events.filter((e) => e.kind === 'session.close').map((e) => e.event.reason)).toEqual([
      'lost',
    ]);
  });
});
