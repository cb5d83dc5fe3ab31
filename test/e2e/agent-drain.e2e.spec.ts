import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  dial,
  readAll,
  spawnAgent,
  spawnConnect,
  startEchoStack,
  type CliProcess,
  type EchoStack,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';

/** One echoed round trip on a socket through `connect`. */
async function roundTrip(socket: Socket, text: string): Promise<string> {
  const echoed = new Promise<string>((resolve) => socket.once('data', (d: Buffer) => resolve(d.toString())));
  socket.write(text);
  return echoed;
}

/**
 * Agent shutdown drains: on SIGTERM an agent refuses new sessions (the gateway offers them to the
 * other agent serving the connection) while its open sessions run on; it exits when the last one
 * ends, or ends them when the drain time is up.
 */
describe('agent drain on SIGTERM (real gateway, two agents, connect)', () => {
  let stack: EchoStack | undefined;
  let processes: CliProcess[];
  let gateway: TunnelGateway;
  let echo: TcpTarget;

  beforeAll(async () => {
    stack = await startEchoStack();
    ({ gateway, echo, processes } = stack);
  });
  afterAll(() => stack?.stop());

  const setUp = async (name: string, drainMs: number) => {
    const agents = ['a', 'b'].map((suffix) => `${name}-${suffix}`);
    const tokens = [await createAgent(gateway, agents[0]), await createAgent(gateway, agents[1])];
    await createTcpConnection(gateway, name, echo.port, agents);
    const env = { TOLLGATE_AGENT_DRAIN_TIMEOUT_MS: String(drainMs) };
    const running = await Promise.all(tokens.map((t) => spawnAgent(gateway.grpcUrl, t, { env })));
    processes.push(...running);
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, name);
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    socket.on('error', () => undefined);
    expect(await roundTrip(socket, 'first')).toBe('first');
    const servedBy = /via agent (\S+)/.exec(connect.cli.output())?.[1];
    const index = agents.indexOf(servedBy ?? '');
    expect(index).toBeGreaterThanOrEqual(0);
    return { agents, running, connect, socket, draining: running[index], other: agents[1 - index] };
  };

  it('keeps the open session, sends new ones to the other agent, and exits 0 when the last ends', async () => {
    const { connect, socket, draining, other } = await setUp('echo-drain', 60_000);
    draining.child.kill('SIGTERM');
    await draining.waitFor(/"msg":"draining: new sessions go to other agents"/);

    // The open session still works; a new one is served by the other agent.
    expect(await roundTrip(socket, 'still here')).toBe('still here');
    const second = await dial(connect.port);
    expect(await roundTrip(second, 'new')).toBe('new');
    expect(connect.cli.output().split(`via agent ${other}`).length - 1).toBe(1);
    second.end();

    expect(draining.child.exitCode).toBeNull();
    socket.end();
    expect(await draining.exited()).toBe(0);
    expect(draining.output()).toContain('"msg":"drained: no session left"');
  });

  it('ends the sessions left when the drain time is up', async () => {
    const { socket, draining } = await setUp('echo-drain-timeout', 1_000);
    const ended = readAll(socket);
    const signalled = Date.now();
    draining.child.kill('SIGTERM');
    await ended;
    expect(Date.now() - signalled).toBeGreaterThanOrEqual(900);
    expect(await draining.exited()).toBe(0);
    expect(draining.output()).toContain('drain time is up; ending the open sessions');
  });
});
