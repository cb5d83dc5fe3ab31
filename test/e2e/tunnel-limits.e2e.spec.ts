import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ClientUp, SessionUp, SessionVerb } from '@tollgate/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  dial,
  spawnAgent,
  spawnConnect,
  startEchoStack,
  startTcpTarget,
  type CliProcess,
  type EchoStack,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

function rssBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** A raw ClientTunnel.Open stream that sends bytes as they are (no protobuf encoding). */
function rawOpen(
  grpcUrl: string,
  token: string,
  method = '/tollgate.v1.ClientTunnel/Open',
): grpc.ClientDuplexStream<Buffer, Buffer> {
  const Raw = grpc.makeGenericClientConstructor({}, 'Raw');
  const client = new Raw(new URL(grpcUrl).host, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return client.makeBidiStreamRequest(
    method,
    (b: Buffer) => b,
    (b: Buffer) => b,
    metadata,
  );
}

function streamStatus(call: grpc.ClientDuplexStream<Buffer, Buffer>): Promise<grpc.StatusObject> {
  return new Promise((resolve) => {
    call.on('data', () => undefined);
    call.on('error', () => undefined);
    call.on('status', resolve);
  });
}

describe('bounded buffers and bad input (real processes)', () => {
  let stack: EchoStack | undefined;
  let processes: CliProcess[];
  let cleanups: (() => unknown)[];
  let gateway: TunnelGateway;
  let agent: CliProcess;
  let agentToken: string;
  let echo: TcpTarget;

  beforeAll(async () => {
    stack = await startEchoStack();
    ({ gateway, echo, processes, cleanups } = stack);
    agentToken = await createAgent(gateway, 'edge');
    await createTcpConnection(gateway, 'echo', echo.port, ['edge']);
    agent = await spawnAgent(gateway.grpcUrl, agentToken);
    processes.push(agent);
  });

  afterAll(() => stack?.stop());

  it('a client that stops reading while the target sends 1 GiB grows no Tollgate process by 64 MiB', async () => {
    let sent = 0;
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    const source = await startTcpTarget((socket) => {
      const pump = () => {
        while (sent < GiB) {
          sent += chunk.length;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
        socket.end();
      };
      pump();
    });
    cleanups.push(() => source.close());
    await createTcpConnection(gateway, 'firehose', source.port, ['edge']);
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'firehose');
    processes.push(connect.cli);

    const pids = {
      gateway: gateway.cli.child.pid!,
      agent: agent.child.pid!,
      connect: connect.cli.child.pid!,
    };
    const baseline = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, rssBytes(pid)]));
    const peak = { ...baseline };
    const sample = setInterval(() => {
      for (const [k, pid] of Object.entries(pids)) peak[k] = Math.max(peak[k], rssBytes(pid));
    }, 50);

    const socket = await dial(connect.port);
    socket.pause(); // the slow reader: reads nothing
    // Wait until the whole path is full: the target cannot send any more.
    let last = -1;
    while (sent !== last) {
      last = sent;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const stalledAt = sent;
    expect(stalledAt).toBeLessThan(256 * MiB);
    clearInterval(sample);
    for (const name of Object.keys(pids)) {
      expect((peak[name] - baseline[name]) / MiB, `${name} RSS growth in MiB`).toBeLessThan(64);
    }

    // Then read it all: backpressure releases and every byte arrives.
    let received = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', (data: Buffer) => (received += data.length));
      socket.on('end', resolve);
      socket.resume();
    });
    socket.destroy();
    expect(received).toBe(GiB);
  });

  it('a malformed or oversize message fails only its own stream; other sessions keep working', async () => {
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo');
    processes.push(connect.cli);
    const healthy = await dial(connect.port);
    healthy.write('before');
    await new Promise<void>((resolve) => healthy.once('data', () => resolve()));

    const garbage = rawOpen(gateway.grpcUrl, gateway.adminToken);
    const garbageStatus = streamStatus(garbage);
    garbage.write(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
    expect((await garbageStatus).code).not.toBe(grpc.status.OK);

    const oversize = rawOpen(gateway.grpcUrl, gateway.adminToken);
    const oversizeStatus = streamStatus(oversize);
    const request = ClientUp.encode({
      kind: {
        $case: 'openRequest',
        openRequest: { connectionName: 'echo', clientAddr: '', clientVersion: '', verb: SessionVerb.CONNECT },
      },
    }).finish();
    oversize.write(Buffer.from(request));
    oversize.write(
      Buffer.from(
        ClientUp.encode({
          kind: { $case: 'frame', frame: { kind: { $case: 'data', data: Buffer.alloc(5 * MiB) } } },
        }).finish(),
      ),
    );
    expect((await oversizeStatus).code).toBe(grpc.status.RESOURCE_EXHAUSTED);

    healthy.write('after');
    const echoed = await new Promise<string>((resolve) =>
      healthy.once('data', (d: Buffer) => resolve(d.toString())),
    );
    expect(echoed).toBe('after');
    healthy.destroy();
  });

  it('a process holding the agent token but not its instance cannot attach to a session', async () => {
    const intruder = rawOpen(gateway.grpcUrl, agentToken, '/tollgate.v1.AgentTunnel/Session');
    const status = streamStatus(intruder);
    intruder.write(
      Buffer.from(
        SessionUp.encode({
          kind: {
            $case: 'attach',
            attach: { sessionId: '00000000-0000-4000-8000-000000000000', instanceKey: 'k'.repeat(43) },
          },
        }).finish(),
      ),
    );
    const result = await status;
    expect(result.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(result.details).toMatch(/this agent instance does not hold the agent's control stream/);
  });
});
