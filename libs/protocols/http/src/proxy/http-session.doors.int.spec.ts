import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createServer as createHttpServer, type Server } from 'node:http';
import { connect, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpReplies } from '../engine/http-replies';
import { formBodyPeek, FORM_PEEK_BYTES, httpRequestFacts } from '../engine/http.engine';
import { forwardedRequest } from '../forwarded-request';
import { PolicyCommands } from '../test-support/policy-commands';
import { dialLoopback } from '../test-support/dial-loopback';
import { HttpSession } from './http-session';

/**
 * Requests shaped so that the relay and the target could read them differently: whatever the
 * relay's policy saw must be all the target runs.
 */
const POLICY = `
version: 1
guardrails:
  - name: no-internal
    deny: {http: {paths: ["/internal", "/internal/users"]}, message: "internal API"}
  - name: no-deletes
    deny: {http: {methods: [DELETE]}}
  - name: no-exports
    deny: {http: {methods: [GET], paths: ["/exports/*"]}}
`;

const run = promisify(execFile);

/**
 * A path as an application behind a decoding front reads it: decoded twice (nginx passing `$uri`,
 * already decoded, to an application that decodes what it gets).
 */
const decoded = (path: string): string => {
  try {
    return decodeURIComponent(decodeURIComponent(path));
  } catch {
    return path;
  }
};

const listen = async <T extends Server | NetServer>(server: T): Promise<number> => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
};

describe('HttpSession: what the target runs is what policy decided on', () => {
  let target: Server;
  let proxy: NetServer;
  let port: number;
  const commands = new PolicyCommands(POLICY);
  /** Every request the target's HTTP parser read, as its router would see it. */
  const seen: string[] = [];
  let tmp: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tollgate-doors-'));
    target = createHttpServer((req, res) => {
      // Routed the way many applications route: by WHATWG URL, decoded (twice, see decoded), case-insensitively (Express's
      // default), a trailing slash ignored (Express's default too). Case folds as Java's
      // equalsIgnoreCase and .NET's OrdinalIgnoreCase (ASP.NET Core routing) fold it, each character
      // upper-cased: `ı` and `ſ` are `I` and `S` there.
      const pathname = new URL(req.url ?? '/', 'http://app').pathname;
      const routed = decoded(pathname)
        .toUpperCase()
        .toLowerCase()
        .replace(/(.)\/$/, '$1');
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} -> ${routed}${bytes > 0 ? ` (${bytes} bytes)` : ''}`);
        res.end(routed);
      });
    });
    // An h2c-capable target (Go's h2c handler, many reverse proxies): it switches on any request
    // that offers h2c, and reads what follows as requests the relay never saw.
    target.on('upgrade', (req, socket: Socket) => {
      seen.push(`UPGRADE ${req.headers.upgrade} ${req.url}`);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
      socket.on('data', (bytes: Buffer) =>
        seen.push(`AFTER-SWITCH ${bytes.toString('latin1').split('\r\n')[0]}`),
      );
    });
    const targetPort = await listen(target);
    proxy = createServer((socket) => {
      socket.on('error', () => undefined);
      void new HttpSession(socket, {
        connect: () => dialLoopback(targetPort),
        forward: (head) =>
          forwardedRequest(head, {
            host: `127.0.0.1:${targetPort}`,
            basePath: '',
            inject: [['Authorization', 'Bearer agent-secret']],
          }),
        classify: httpRequestFacts,
        peekBody: formBodyPeek,
        commands,
        replies: httpReplies,
        headTimeoutMs: 500,
      }).run();
    });
    port = await listen(proxy);
  });

  afterAll(async () => {
    proxy.close();
    target.closeAllConnections();
    target.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /**
   * Writes the bytes (a second part once the first response arrived) and reads until the relay
   * closes: the last request says `Connection: close`, or is refused.
   */
  const exchange = async (first: string, second?: string): Promise<string> => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.write(first);
    if (second !== undefined) {
      while (!/\r\n\r\n/.test(text)) await once(socket, 'data');
      // Give the target time to answer the upgrade, if it would.
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.write(second);
    }
    await once(socket, 'close');
    return text;
  };

  const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  const smuggled = 'DELETE /internal/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n';

  it('TRACE and TRACK (which echo the request, the credential the agent adds included) never reach the target', async () => {
    for (const method of ['TRACE', 'TRACK', 'trace']) {
      seen.length = 0;
      const text = await exchange(`${method} /anything HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(statuses(text), method).toEqual([405]);
      expect(text).toMatch(/TRACE and TRACK are refused/);
      expect(text).not.toContain('agent-secret');
      expect(seen).toEqual([]);
    }
  });

  it('a caller’s Connection header cannot strip the body’s framing (its body is never a request)', async () => {
    seen.length = 0;
    const answers = [
      await exchange(
        `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close, Content-Length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`,
      ),
      await exchange(
        `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`,
      ),
    ];
    for (const answer of answers) expect(statuses(answer)[0]).toBe(200);
    expect(seen.join('\n')).not.toMatch(/DELETE|internal/);
    const delivered = `POST /upload -> /upload (${smuggled.length} bytes)`;
    expect(seen).toEqual([delivered, delivered]);
  });

  it('a denied request’s body is never read as the next request, with or without Expect: 100-continue', async () => {
    seen.length = 0;
    const inner = 'GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    for (const expect100 of ['', 'Expect: 100-continue\r\n']) {
      const answer = await exchange(
        `DELETE /items/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n${expect100}Content-Length: ${inner.length}\r\n\r\n${inner}`,
      );
      expect(statuses(answer)).toEqual([403]);
      expect(answer).toContain('Connection: close');
    }
    const chunked = await exchange(
      `DELETE /items/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n${inner.length.toString(16)}\r\n${inner}\r\n0\r\n\r\n`,
    );
    expect(statuses(chunked)).toEqual([403]);
    expect(seen).toEqual([]);
  });

  const curl = async (...args: string[]) => {
    const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', ...args]);
    return Number(stdout);
  };

  it('a form POST that names another method in a _method field (Rails, Laravel) is decided as that', async () => {
    seen.length = 0;
    const url = `http://127.0.0.1:${port}/items/1`;
    expect(await curl('-d', 'name=x&_method=DELETE', url)).toBe(403);
    expect(await curl('-F', 'name=x', '-F', '_method=delete', url)).toBe(403);
    expect(await curl('-H', 'Transfer-Encoding: chunked', '-d', '_method=DELETE', url)).toBe(403);
    // Names as PHP reads them (Laravel, Symfony): `.` and ` ` are `_`, leading spaces dropped.
    expect(await curl('-d', 'name=x&.method=DELETE', url)).toBe(403);
    expect(await curl('-F', 'name=x', '-F', '.method=DELETE', url)).toBe(403);
    // Rack reads a POST without a Content-Type as a form; Rack and PHP cut the type at `,` too.
    expect(await curl('-H', 'Content-Type:', '-d', '_method=DELETE', url)).toBe(403);
    expect(
      await curl(
        '-H',
        'Content-Type: application/x-www-form-urlencoded, text/plain',
        '-d',
        '_method=DELETE',
        url,
      ),
    ).toBe(403);
    // Compressed: Express's body-parser inflates a gzip or deflate body before method-override reads it.
    const gzipped = join(tmp, 'form.gz');
    await writeFile(gzipped, gzipSync('name=x&_method=DELETE'));
    expect(await curl('-H', 'Content-Encoding: gzip', '--data-binary', `@${gzipped}`, url)).toBe(403);
    expect(seen).toEqual([]);
    // Without one it goes through, body and all; so does a _method that names POST itself.
    expect(await curl('-d', 'name=x', url)).toBe(200);
    expect(await curl('-F', 'name=x', '-F', '_method=POST', url)).toBe(200);
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe('POST /items/1 -> /items/1 (6 bytes)');
  });

  it('a JSON POST that names another method in a top-level _method (Laravel reads JSON input so) is decided as that', async () => {
    seen.length = 0;
    const url = `http://127.0.0.1:${port}/items/1`;
    for (const type of ['application/json', 'application/vnd.api+json', 'text/json; charset=utf-8']) {
      expect(
        await curl('-H', `Content-Type: ${type}`, '-d', '{"name":"x","_method":"DELETE"}', url),
        type,
      ).toBe(403);
    }
    expect(seen).toEqual([]);
    // Without one (or with one nested deeper, which nobody reads as the method) it goes through.
    expect(
      await curl('-H', 'Content-Type: application/json', '-d', '{"item":{"_method":"DELETE"}}', url),
    ).toBe(200);
    expect(seen).toHaveLength(1);
  });

  it('a HEAD runs what a rule on GET denies (servers answer it with the GET handler): denied too', async () => {
    seen.length = 0;
    const answer = await exchange(
      'HEAD /exports/all HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
    );
    expect(statuses(answer)).toEqual([403]);
    expect(seen).toEqual([]);
  });

  it('a web page’s form POST to the local listener (cross-site, or by a rebound name) never reaches the target', async () => {
    seen.length = 0;
    const url = `http://127.0.0.1:${port}/items/1`;
    // What a browser sends for <form method=post action=http://127.0.0.1:8081/items/1> on evil.example.
    const page = ['-H', 'Origin: https://evil.example', '-H', 'Sec-Fetch-Site: cross-site'];
    expect(await curl(...page, '-d', 'name=x', url)).toBe(403);
    expect(await curl('-H', 'Host: evil.example:8081', '-d', 'name=x', url)).toBe(403);
    expect(seen).toEqual([]);
  });

  it('a client that waits for 100 Continue gets it, then the decision on its form body', async () => {
    seen.length = 0;
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    const body = '_method=DELETE';
    socket.write(
      `POST /items/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    while (!text.includes('\r\n\r\n')) await once(socket, 'data');
    expect(text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    socket.write(body);
    await once(socket, 'close');
    expect(statuses(text)).toEqual([100, 403]);
    expect(seen).toEqual([]);
  });

  it('a form body too large to read is denied by rules on methods, not by rules on other paths', async () => {
    seen.length = 0;
    const large = join(tmp, 'large-form');
    await writeFile(large, `name=${'x'.repeat(FORM_PEEK_BYTES)}`);
    expect(await curl('--data-binary', `@${large}`, `http://127.0.0.1:${port}/upload`)).toBe(403);
    expect(seen).toEqual([]);
    // A plain (non-form) body of that size goes through unread.
    expect(
      await curl(
        '-H',
        'Content-Type: application/octet-stream',
        '--data-binary',
        `@${large}`,
        `http://127.0.0.1:${port}/upload`,
      ),
    ).toBe(200);
    expect(seen).toEqual([`POST /upload -> /upload (${FORM_PEEK_BYTES + 5} bytes)`]);
  });

  it('an h2c upgrade offer is not passed on: what follows is read (and decided) as HTTP/1.1', async () => {
    seen.length = 0;
    const answer = await exchange(
      'GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n',
      `GET /internal/users HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
    );
    expect(statuses(answer)).toEqual([200, 403]);
    expect(seen).toEqual(['GET /hello -> /hello']);
  });

  it.each([
    // WHATWG URL reads `//host/...` as an authority: the application routes /internal/users.
    ['//evil/internal/users'],
    ['/\\evil/internal/users'],
    ['/%5Cevil/internal/users'],
    // Routers that keep dot segments (Express matches `/public/*`) and servers that resolve them.
    ['/public/../internal/users'],
    ['/public/%2e%2e/internal/users'],
    ['/public/.%2E/internal/users'],
    ['/public/./../internal/users'],
    // Case-insensitive and trailing-slash-insensitive routing (Express's defaults, ASP.NET, IIS).
    ['/INTERNAL/users'],
    ['/Internal'],
    ['/internal/'],
    ['/internal/users/'],
    ['/%49nternal/users'],
    // Encoded twice: one decoding leaves `%69`, `%2F`, which a target that decodes again reads.
    ['/%2569nternal/users'],
    ['/internal%252Fusers'],
    // Characters outside ASCII whose upper case is ASCII: dotless ı (I), long ſ (S).
    ['/%C4%B1nternal/users'],
    ['/internal/u%C5%BFers'],
    ['/INTERNAL/U%C5%BFERS'],
    // Format suffixes: Rails routes `/internal(.:format)`, Spring MVC before 5.3 `/internal.*`.
    ['/internal.json'],
    ['/internal/users.json'],
    ['/Internal/Users.xml/'],
    ['/internal.v1.json'],
  ])('%s never reaches the target as the internal API', async (target) => {
    seen.length = 0;
    const answer = await exchange(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    expect(seen).toEqual([]);
    expect(statuses(answer)[0]).toBeGreaterThanOrEqual(400);
  });

  it.each([
    ['GET internal/users HTTP/1.1', 400],
    ['GET @evil/internal HTTP/1.1', 400],
    ['GET * HTTP/1.1', 400],
    ['POST /upload HTTP/1.1\r\nTransfer-Encoding: identity, chunked', 501],
    ['POST /upload HTTP/1.1\r\nTransfer-Encoding: gzip, chunked', 501],
  ])('%s is refused as malformed (%i), never forwarded', async (start, status) => {
    seen.length = 0;
    const answer = await exchange(`${start}\r\nHost: 127.0.0.1\r\n\r\n0\r\n\r\n`);
    expect(statuses(answer)[0]).toBe(status);
    expect(seen).toEqual([]);
  });
});

describe('HttpSession: a target that switches protocols unasked', () => {
  it('is a 502, and nothing the client sends after reaches it unread', async () => {
    const received: string[] = [];
    const target = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (bytes: Buffer) => {
        received.push(bytes.toString('latin1').split('\r\n')[0]!);
        socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
      });
    });
    const targetPort = await listen(target);
    const proxy = createServer((socket) => {
      socket.on('error', () => undefined);
      void new HttpSession(socket, {
        connect: () => dialLoopback(targetPort),
        forward: (head) => forwardedRequest(head, { host: 'x', basePath: '', inject: [] }),
        classify: httpRequestFacts,
        commands: new PolicyCommands(POLICY),
        replies: httpReplies,
      }).run();
    });
    const port = await listen(proxy);
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.write(
      'GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /internal/users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );
    await once(socket, 'close');
    expect(text).toMatch(/^HTTP\/1\.1 502 /);
    expect(text).toContain('switched protocols, which the request did not offer');
    // Offered WebSocket, it switches to h2c: refused too.
    const again = connect({ host: '127.0.0.1', port });
    again.on('error', () => undefined);
    let answer = '';
    again.on('data', (c: Buffer) => (answer += c.toString('latin1')));
    again.write(
      'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\nGET /internal/users HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n',
    );
    await once(again, 'close');
    proxy.close();
    target.close();
    expect(answer).toMatch(/^HTTP\/1\.1 502 /);
    expect(answer).toContain('switched to h2c, not to what the request offered (websocket)');
    expect(received).toEqual(['GET /hello HTTP/1.1', 'GET /ws HTTP/1.1']);
  });
});

describe('HttpSession: a connection whose target URL has a base path', () => {
  it('reaches nothing outside it, whatever the path’s dot segments, even where no rule reads paths', async () => {
    const routed: string[] = [];
    // Resolves dot segments (WHATWG URL, as nginx and most node applications do).
    const target = createHttpServer((req, res) => {
      routed.push(new URL(req.url ?? '/', 'http://app').pathname);
      res.end('ok');
    });
    const targetPort = await listen(target);
    const proxy = createServer((socket) => {
      socket.on('error', () => undefined);
      void new HttpSession(socket, {
        connect: () => dialLoopback(targetPort),
        forward: (head) =>
          forwardedRequest(head, {
            host: 'x',
            basePath: '/tenant-a',
            inject: [['X-Api-Key', 'tenant-a-key']],
          }),
        classify: httpRequestFacts,
        // No guardrail reads the path: the base path alone is what keeps the caller in tenant-a.
        commands: new PolicyCommands('version: 1\n'),
        replies: httpReplies,
      }).run();
    });
    const port = await listen(proxy);
    const ask = async (target: string) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      await once(socket, 'close');
      return text;
    };
    try {
      expect(await ask('/files/a')).toMatch(/^HTTP\/1\.1 200 /);
      for (const escape of [
        '/../tenant-b/files',
        '/%2e%2e/tenant-b/files',
        '/files/..%2F..%2Ftenant-b/files',
        'http://x/../tenant-b/files',
        '/..;/tenant-b/files',
        '/%5C..%5Ctenant-b/files',
      ]) {
        const answer = await ask(escape);
        expect(answer, escape).toMatch(/^HTTP\/1\.1 400 /);
        expect(answer, escape).toContain('base path');
      }
      expect(routed).toEqual(['/tenant-a/files/a']);
    } finally {
      proxy.close();
      target.closeAllConnections();
      target.close();
    }
  });
});
