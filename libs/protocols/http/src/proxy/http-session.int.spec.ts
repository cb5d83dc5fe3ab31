import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
} from 'node:http';
import { connect, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { httpReplies } from '../engine/http-replies';
import { httpRequestFacts } from '../engine/http.engine';
import { forwardedRequest } from '../forwarded-request';
import { PolicyCommands } from '../test-support/policy-commands';
import { dialLoopback } from '../test-support/dial-loopback';
import { HttpSession } from './http-session';

const run = promisify(execFile);

const POLICY = `
version: 1
guardrails:
  - name: no-deletes
    deny: {http: {methods: [DELETE]}}
  - name: no-admin
    deny: {http: {paths: ["/admin", "/admin/*"]}, message: "the admin API is off limits"}
`;

const listen = async <T extends Server | NetServer>(server: T): Promise<number> => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
};

describe('HttpSession between curl (and node, ws) and a real node:http server', () => {
  let target: Server;
  let targetPort: number;
  let proxy: NetServer;
  let port: number;
  const commands = new PolicyCommands(POLICY);
  const targetConnections: Socket[] = [];
  const seenByTarget: { method?: string; url?: string; authorization?: string; host?: string }[] = [];
  let releaseStream: (() => void) | undefined;

  beforeAll(async () => {
    target = createHttpServer((req, res) => {
      seenByTarget.push({
        method: req.method,
        url: req.url,
        authorization: req.headers.authorization,
        host: req.headers.host,
      });
      if (req.url === '/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        releaseStream = () => res.end('data: last\n\n');
        return;
      }
      if (req.url === '/big') {
        res.end(Buffer.alloc(1024 * 1024, 7));
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: Buffer.concat(chunks).length,
          }),
        );
      });
    });
    target.on('connection', (socket) => targetConnections.push(socket));
    const sockets = new WebSocketServer({ server: target, path: '/ws' });
    sockets.on('connection', (socket, req) => {
      seenByTarget.push({ url: req.url, authorization: req.headers.authorization });
      socket.on('message', (data: Buffer) => socket.send(`echo:${data.toString()}`));
    });
    targetPort = await listen(target);

    proxy = createServer((socket) => {
      socket.on('error', () => undefined);
      const session = new HttpSession(socket, {
        connect: () => dialLoopback(targetPort),
        forward: (head) =>
          forwardedRequest(head, {
            host: `127.0.0.1:${targetPort}`,
            basePath: '',
            inject: [['Authorization', 'Bearer agent-secret']],
          }),
        classify: httpRequestFacts,
        commands,
        replies: httpReplies,
        limits: { maxHeadBytes: 16 * 1024, maxHeaders: 100 },
        headTimeoutMs: 500,
      });
      void session.run();
    });
    port = await listen(proxy);
  });

  afterAll(async () => {
    proxy.close();
    target.closeAllConnections();
    target.close();
  });

  const curl = async (...args: string[]) => {
    const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
    const lines = stdout.split('\n');
    return { status: Number(lines.pop()), body: lines.join('\n') };
  };

  it('forwards with the agent’s credential, not the caller’s, and records method, path, status and bytes', async () => {
    const before = commands.results.length;
    const { status, body } = await curl(
      '-H',
      'Authorization: Bearer caller-token',
      `http://127.0.0.1:${port}/v1/items?q=1`,
    );
    expect(status).toBe(200);
    const echoed = JSON.parse(body) as { url: string; headers: Record<string, string> };
    expect(echoed.url).toBe('/v1/items?q=1');
    expect(echoed.headers['authorization']).toBe('Bearer agent-secret');
    expect(echoed.headers['host']).toBe(`127.0.0.1:${targetPort}`);
    expect(commands.results.slice(before)).toEqual([
      expect.objectContaining({ command: 'GET /v1/items?q=1', status: 200, bytes: Buffer.byteLength(body) }),
    ]);
  });

  it('denies by method and by path with a 403 JSON naming the rule, on any spelling of the path', async () => {
    const seen = seenByTarget.length;
    const deleted = await curl('-X', 'DELETE', `http://127.0.0.1:${port}/v1/items/1`);
    expect(deleted.status).toBe(403);
    expect(JSON.parse(deleted.body)).toMatchObject({ error: 'forbidden', rule: 'no-deletes' });
    for (const path of ['/admin', '/%61dmin/', '/ADMIN', '/Admin/users/']) {
      const admin = await curl('--path-as-is', `http://127.0.0.1:${port}${path}`);
      expect(admin.status, path).toBe(403);
      expect(JSON.parse(admin.body)).toEqual({
        error: 'forbidden',
        message: 'the admin API is off limits',
        rule: 'no-admin',
        by: 'tollgate',
      });
    }
    // Spellings servers read in different ways are not read: the path rule cannot tell, so it denies.
    for (const path of ['/x/../admin/users', '//admin', '/ADMIN/../admin', '/public/..%2Fadmin']) {
      const admin = await curl('--path-as-is', `http://127.0.0.1:${port}${path}`);
      expect(admin.status, path).toBe(403);
      const denial = JSON.parse(admin.body) as { error: string; rule: string; message: string };
      expect(denial.error).toBe('forbidden');
      expect(denial.rule).toMatch(/^no-/);
      expect(denial.message).toMatch(/could not be classified \(the path has an? (empty|dot) segment/);
    }
    expect(seenByTarget.length).toBe(seen);
  });

  it('keeps one connection alive across allowed and denied requests', async () => {
    const connections = targetConnections.length;
    const { stdout } = await run('curl', [
      '-sS',
      '-w',
      '%{http_code} %{num_connects}\n',
      ...['/a', '/admin', '/b'].flatMap((path) => ['-o', '/dev/null', `http://127.0.0.1:${port}${path}`]),
    ]);
    // One local connection for all three requests (num_connects 0 after the first).
    expect(stdout.trim().split('\n')).toEqual(['200 1', '403 0', '200 0']);
    expect(targetConnections.length - connections).toBe(1);
  });

  it('streams a server-sent event before the response ends', async () => {
    const response = await new Promise<IncomingMessage>((resolve) =>
      httpRequest({ host: '127.0.0.1', port, path: '/events' }, resolve).end(),
    );
    const [first] = (await once(response, 'data')) as [Buffer];
    // The target has not ended the response: the first event came through unbuffered.
    expect(first.toString()).toBe('data: first\n\n');
    releaseStream?.();
    const rest: Buffer[] = [];
    response.on('data', (c: Buffer) => rest.push(c));
    await once(response, 'end');
    expect(Buffer.concat(rest).toString()).toBe('data: last\n\n');
  });

  it('relays a 1 MiB response and a request body byte for byte', async () => {
    const big = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{size_download}',
      `http://127.0.0.1:${port}/big`,
    ]);
    expect(Number(big.stdout)).toBe(1024 * 1024);
    const file = join(tmpdir(), `tollgate-http-upload-${process.pid}`);
    await writeFile(file, 'x'.repeat(300_000));
    const upload = await curl('-X', 'POST', '--data-binary', `@${file}`, `http://127.0.0.1:${port}/upload`);
    await rm(file);
    expect(JSON.parse(upload.body)).toMatchObject({ method: 'POST', body: 300_000 });
    const chunked = await curl(
      '-X',
      'PUT',
      '-H',
      'Transfer-Encoding: chunked',
      '--data-binary',
      'abc',
      `http://127.0.0.1:${port}/c`,
    );
    expect(JSON.parse(chunked.body)).toMatchObject({ method: 'PUT', body: 3 });
  });

  it('passes a WebSocket upgrade through', async () => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/ws`, {
      headers: { authorization: 'Bearer caller' },
    });
    await once(socket, 'open');
    socket.send('hello');
    const [reply] = (await once(socket, 'message')) as [Buffer];
    expect(reply.toString()).toBe('echo:hello');
    socket.close();
    expect(seenByTarget.at(-1)).toMatchObject({ url: '/ws', authorization: 'Bearer agent-secret' });
  });

  const raw = async (bytes: string): Promise<string> => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(bytes);
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    await once(socket, 'close');
    return Buffer.concat(chunks).toString('latin1');
  };

  it('answers malformed and smuggling-shaped requests with 400 and closes', async () => {
    for (const bad of [
      'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
      'POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'GET / HTTP/1.1\r\nX: a\nGET /admin HTTP/1.1\r\n\r\n',
    ]) {
      const answer = await raw(bad);
      expect(answer).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
      expect(answer).toContain('Connection: close');
    }
  });

  it('refuses huge heads with 431 and cuts off a slow client, while other sessions go on', async () => {
    expect(await raw(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    const slow = connect({ host: '127.0.0.1', port });
    slow.on('error', () => undefined);
    await once(slow, 'connect');
    slow.write('GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const answer: Buffer[] = [];
    slow.on('data', (c: Buffer) => answer.push(c));
    const closed = once(slow, 'close');
    // Another client is served while the slow one dawdles.
    expect((await curl(`http://127.0.0.1:${port}/meanwhile`)).status).toBe(200);
    await closed;
    expect(Buffer.concat(answer).toString()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
  });

  it('a half-open upgrade (the client stops after the 101) is closed at the target too; others go on', async () => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (c: Buffer) => (received += c.toString('latin1')));
    const closed = once(socket, 'close');
    socket.write(
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\n\r\n`,
    );
    await expect.poll(() => received, { timeout: 10_000 }).toMatch(/^HTTP\/1\.1 101 /);
    const upstream = targetConnections.at(-1)!;
    socket.end();
    await closed;
    await expect.poll(() => upstream.destroyed, { timeout: 10_000 }).toBe(true);
    expect((await curl(`http://127.0.0.1:${port}/after`)).status).toBe(200);
  });
});
