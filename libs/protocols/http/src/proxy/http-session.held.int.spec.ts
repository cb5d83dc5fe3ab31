import { once } from 'node:events';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandPort } from '@tollgate/protocol-tcp';
import { httpReplies } from '../engine/http-replies';
import { httpRequestFacts } from '../engine/http.engine';
import { forwardedRequest } from '../forwarded-request';
import { dialLoopback } from '../test-support/dial-loopback';
import { HttpSession } from './http-session';

/**
 * A request held for review (the engine's decide() calls `notify` and waits for reviewers) and a
 * client that goes away meanwhile: the session ends then, and the request never reaches the target,
 * even when the review is approved afterwards.
 */
describe('HttpSession: a request held for review whose client leaves', () => {
  let target: Server;
  let targetPort: number;
  const seen: string[] = [];

  beforeAll(async () => {
    target = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end('ok');
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    targetPort = (target.address() as AddressInfo).port;
  });
  afterAll(() => target.close());

  /** A session over an in-memory client whose DELETEs wait for a review the test decides. */
  function session() {
    const toClient: Buffer[] = [];
    let approve!: () => void;
    const commands: Pick<CommandPort, 'decide' | 'report'> = {
      decide: (text, _facts, notify) => {
        if (!text.startsWith('DELETE ')) return Promise.resolve({ allow: true });
        notify('held for review');
        return new Promise((resolve) => (approve = () => resolve({ allow: true })));
      },
      report: () => undefined,
    };
    // The client's end of the connection: what the test pushes is what the client sent.
    const socket = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        toClient.push(chunk);
        callback();
      },
      allowHalfOpen: true,
    });
    const http = new HttpSession(socket, {
      connect: () => dialLoopback(targetPort),
      forward: (head) =>
        forwardedRequest(head, { host: `127.0.0.1:${targetPort}`, basePath: '', inject: [] }),
      classify: httpRequestFacts,
      commands,
      replies: httpReplies,
      headTimeoutMs: 5_000,
    });
    return { socket, http, approve: () => approve(), toClient };
  }

  it('ends the session when the client leaves while its DELETE waits; approving later forwards nothing', async () => {
    const { socket, http, approve } = session();
    const ran = http.run();
    socket.push(Buffer.from('DELETE /things/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.push(null); // the client's side ends (a killed curl)
    await ran; // the session ends without waiting for the review
    approve();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).not.toContain('DELETE /things/1');
  });

  it('a client that stays gets its held request forwarded once approved', async () => {
    const { socket, http, approve, toClient } = session();
    const ran = http.run();
    socket.push(Buffer.from('DELETE /things/2 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    approve();
    await ran;
    expect(seen).toContain('DELETE /things/2');
    expect(Buffer.concat(toClient).toString()).toMatch(/^HTTP\/1\.1 200/);
  });
});

/**
 * A session ended from outside (a kill, a revoked token) while a request's decision is still being
 * made durable (the agent's journal write, the gateway's commit in the strict mode): the kill comes
 * first, so the request must not reach the target even when its decision then says allow.
 */
describe('HttpSession: a request whose decision lands after the session was ended', () => {
  let target: Server;
  let targetPort: number;
  const seen: string[] = [];

  beforeAll(async () => {
    target = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.end('ok');
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    targetPort = (target.address() as AddressInfo).port;
  });
  afterAll(() => target.close());

  it('forwards nothing once aborted, on a kept-alive target connection or a new one', async () => {
    let durable!: () => void;
    const commands: Pick<CommandPort, 'decide' | 'report'> = {
      // The audit record is being written: no notify (nothing is held for review).
      decide: () => new Promise((resolve) => (durable = () => resolve({ allow: true }))),
      report: () => undefined,
    };
    const socket = new Duplex({
      read() {},
      write(_chunk: Buffer, _encoding, callback) {
        callback();
      },
      allowHalfOpen: true,
    });
    const http = new HttpSession(socket, {
      first: await dialLoopback(targetPort),
      connect: () => dialLoopback(targetPort),
      forward: (head) =>
        forwardedRequest(head, { host: `127.0.0.1:${targetPort}`, basePath: '', inject: [] }),
      classify: httpRequestFacts,
      commands,
      replies: httpReplies,
      headTimeoutMs: 5_000,
    });
    const ran = http.run();
    socket.push(Buffer.from('DELETE /things/3 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    http.abort(); // the gateway killed the session
    durable(); // then the record is durable and the policy said allow
    await ran;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).not.toContain('DELETE /things/3');
  });
});
