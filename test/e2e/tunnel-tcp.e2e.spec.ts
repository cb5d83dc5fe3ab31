import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  createTestDatabase,
  dial,
  echoTarget,
  readAll,
  replyAfterEofTarget,
  spawnAgent,
  spawnConnect,
  startTcpTarget,
  startTunnelGateway,
  unusedPort,
  type CliProcess,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('tcp connections end to end (real gateway, agent and `tollgate connect`)', () => {
  const processes: CliProcess[] = [];
  const targets: TcpTarget[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  let gateway: TunnelGateway;
  let connectPort: (name: string) => Promise<number>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    gateway = await startTunnelGateway([], { DATABASE_URL: db.url });
    processes.push(gateway.cli);
    const token = await createAgent(gateway, 'edge-1');
    const echo = await echoTarget();
    const eof = await replyAfterEofTarget();
    const resetter = await startTcpTarget((socket) => socket.once('data', () => socket.resetAndDestroy()));
    targets.push(echo, eof, resetter);
    await createTcpConnection(gateway, 'echo', echo.port, ['edge-1']);
    await createTcpConnection(gateway, 'eof', eof.port, ['edge-1']);
    await createTcpConnection(gateway, 'resetter', resetter.port, ['edge-1']);
    await createTcpConnection(gateway, 'down', await unusedPort(), ['edge-1']);
    processes.push(await spawnAgent(gateway.grpcUrl, token));
    connectPort = async (name) => {
      const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, name);
      processes.push(connect.cli);
      return connect.port;
    };
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await Promise.all(targets.map((t) => t.close()));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('relays binary data both ways, over many concurrent sockets of one `connect`', async () => {
    const port = await connectPort('echo');
    const payloads = Array.from({ length: 20 }, (_, i) =>
      randomBytes(i === 0 ? 4 * 1024 * 1024 : 50_000 + i),
    );
    const results = await Promise.all(
      payloads.map(async (payload) => {
        const socket = await dial(port);
        const received = readAll(socket);
        socket.end(payload);
        return received;
      }),
    );
    results.forEach((result, i) => {
      expect(result.error).toBeUndefined();
      expect(sha(result.data)).toBe(sha(payloads[i] ?? Buffer.alloc(0)));
    });
  });

  it('propagates a half-close: the target answers only after it sees the client FIN', async () => {
    const port = await connectPort('eof');
    const socket = await dial(port);
    const received = readAll(socket);
    socket.write('abc');
    socket.end('def');
    const { data, error } = await received;
    expect(error).toBeUndefined();
    expect(data.toString()).toBe('6:fedcba');
  });

  it('a web page cannot use the listener: its request is answered 403 and never reaches the target', async () => {
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'eof');
    processes.push(connect.cli);
    const port = connect.port;
    /** Sends and reads the answer; a browser keeps its side open (`end`: the client half-closes at once). */
    const send = async (request: string, end = true) => {
      const socket = await dial(port);
      const received = readAll(socket);
      if (end) socket.end(request);
      else {
        socket.write(request);
        // As a browser does once a `connection: close` answer has ended.
        socket.once('end', () => socket.end());
      }
      return (await received).data.toString();
    };
    // A cross-site form POST carrying another protocol's commands, as a page can make a browser send.
    const fromPage = await send(
      'POST / HTTP/1.1\r\nHost: 127.0.0.1:' +
        port +
        '\r\nOrigin: https://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nFLUSHALL\r\nX\r\n',
      false,
    );
    expect(fromPage).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*a web page cannot use tollgate connect/);
    expect(fromPage).not.toMatch(/^\d+:/); // the target would have answered "<length>:<bytes reversed>"
    // DNS rebinding: the page's own name, pointed at 127.0.0.1.
    expect(await send('GET / HTTP/1.1\r\nHost: evil.example:' + port + '\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 403/,
    );
    // A client of the user's own (curl) and any other protocol pass untouched.
    const curl = 'GET /x HTTP/1.1\r\nHost: 127.0.0.1:' + port + '\r\nUser-Agent: curl/8\r\n\r\n';
    expect(await send(curl)).toBe(`${curl.length}:${[...curl].reverse().join('')}`);
    expect(await send('SET k v\r\n')).toBe(`9:${[...'SET k v\r\n'].reverse().join('')}`);
    // The user running connect is told why those sessions ended.
    await connect.cli.waitFor(/ended: refused: a web page cannot use tollgate connect/, 10_000);
  });

  it('propagates a reset from the target to the local client', async () => {
    const port = await connectPort('resetter');
    const socket = await dial(port);
    const received = readAll(socket);
    socket.write('boom');
    expect((await received).error).toBe('ECONNRESET');
  });

  it('tells the user "target unreachable" promptly and resets the local socket', async () => {
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'down');
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    const result = await readAll(socket);
    expect(result.data.length).toBe(0);
    expect(result.error).toBe('ECONNRESET');
    await connect.cli.waitFor(
      /down: target unreachable: cannot connect to 127\.0\.0\.1:\d+: ECONNREFUSED/,
      10_000,
    );
  });

  it('reports an unknown connection as not found', async () => {
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'nope');
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    await readAll(socket);
    await connect.cli.waitFor(
      /nope: not found: no connection named "nope" \(`tollgate ls` lists the connections you may use\)/,
      10_000,
    );
  });

  it('shows the agent online with its version, host and the bundle version it acknowledged', async () => {
    const { body } = await gateway.api<{
      status: string;
      version: string;
      hostname: string;
      bundleVersion: string | null;
      lastSeenAt: string;
    }>('GET', '/api/v1/agents/edge-1');
    expect(body.status).toBe('online');
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.hostname).toBeTruthy();
    expect(body.bundleVersion).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it('pushes a new bundle when a connection is assigned; the agent acks it and serves it at once', async () => {
    const before = await gateway.api<{ bundleVersion: string }>('GET', '/api/v1/agents/edge-1');
    const echo2 = await echoTarget();
    targets.push(echo2);
    await createTcpConnection(gateway, 'echo-2', echo2.port, ['edge-1']);
    const deadline = Date.now() + 10_000;
    let after = before;
    while (after.body.bundleVersion === before.body.bundleVersion && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      after = await gateway.api<{ bundleVersion: string }>('GET', '/api/v1/agents/edge-1');
    }
    expect(after.body.bundleVersion).not.toBe(before.body.bundleVersion);
    const port = await connectPort('echo-2');
    const socket = await dial(port);
    const received = readAll(socket);
    socket.end('pushed');
    expect((await received).data.toString()).toBe('pushed');
  });
});
