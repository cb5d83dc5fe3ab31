import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookDispatcher } from './webhook-dispatcher';

describe('WebhookDispatcher (real HTTP receiver)', () => {
  let server: Server;
  let url: string;
  const received: { body: string; timestamp: string; signature: string }[] = [];
  let failuresLeft = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (failuresLeft > 0) {
          failuresLeft--;
          res.statusCode = 503;
          return void res.end('try later');
        }
        received.push({
          body,
          timestamp: String(req.headers['x-tollgate-timestamp']),
          signature: String(req.headers['x-tollgate-signature']),
        });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('retries a failing receiver with backoff, keeps the order, and signs every body', async () => {
    const secret = 'a-webhook-secret-of-some-length';
    const dispatcher = new WebhookDispatcher({ webhookSecret: secret });
    failuresLeft = 2;
    // send() returns at once: delivery never holds up the caller.
    dispatcher.send(url, { n: 1 });
    dispatcher.send(url, { n: 2 });
    await expect.poll(() => received.length, { timeout: 20_000, interval: 50 }).toBe(2);
    expect(received.map((r) => JSON.parse(r.body) as { n: number })).toEqual([{ n: 1 }, { n: 2 }]);
    for (const r of received) {
      const mac = createHmac('sha256', secret).update(`${r.timestamp}.${r.body}`).digest('hex');
      expect(r.signature).toBe(`sha256=${mac}`);
    }
    dispatcher.onApplicationShutdown();
  });
});
