import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '@tollgate/store';
import { openTestStore } from '../../testing/test-store';
import { StoreService } from '../store/store.service';
import { AuditCommitter } from './audit-committer';
import { AuditWebhookExporter } from './audit-webhook.exporter';

const SECRET = 'an-audit-webhook-secret';

/** A real HTTP receiver that can be told to fail; records every accepted body's seqs. */
async function receiver() {
  const seqs: string[] = [];
  const bodies: { body: string; timestamp: string; signature: string }[] = [];
  let failing = false;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (failing) {
        res.statusCode = 503;
        return void res.end('down for maintenance');
      }
      const parsed = JSON.parse(body) as { type: string; records: { seq: string }[] };
      expect(parsed.type).toBe('audit.records');
      seqs.push(...parsed.records.map((r) => r.seq));
      bodies.push({
        body,
        timestamp: String(req.headers['x-tollgate-timestamp']),
        signature: String(req.headers['x-tollgate-signature']),
      });
      res.end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/audit`,
    seqs,
    bodies,
    fail: (on: boolean) => (failing = on),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const record = (n: number) => ({
  subject: 'user:alice',
  action: 'authorize:connect',
  target: 'connection:pg-prod',
  decision: 'allow',
  payload: { n },
});

describe.each(['pglite', 'postgres'] as const)('audit webhook exporter on %s (real receiver)', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let committer: AuditCommitter;
  const exporters: AuditWebhookExporter[] = [];
  const tuning = { pollMs: 50, leaseMs: 1500, maxDelayMs: 200 };

  const exporter = async (url: string) => {
    const e = new AuditWebhookExporter(
      new StoreService(store),
      { auditWebhookUrl: url, webhookSecret: SECRET },
      tuning,
    );
    exporters.push(e);
    await e.onApplicationBootstrap();
    return e;
  };
  const append = async (from: number, count: number) => {
    const results = await Promise.all(
      Array.from({ length: count }, (_, i) => committer.append(record(from + i))),
    );
    for (const e of exporters) e.wake();
    return results.map((r) => r.seq.toString());
  };

  beforeAll(async () => {
    ({ store, remove: cleanup } = await openTestStore(kind, 'tollgate-audit-webhook-'));
    committer = new AuditCommitter(store.sql);
  });
  // Each test's exporters stop with it (their receiver is gone).
  afterEach(async () => {
    for (const e of exporters.splice(0)) await e.onApplicationShutdown();
  });
  afterAll(() => cleanup());

  it('starts a new webhook at the head of the log, then delivers every record in order, signed', async () => {
    await append(0, 5); // history from before the webhook existed: not replayed
    const hook = await receiver();
    try {
      await exporter(hook.url);
      const seqs = await append(100, 30);
      await expect.poll(() => hook.seqs.length, { timeout: 10_000, interval: 25 }).toBe(30);
      expect(hook.seqs).toEqual(seqs);
      for (const b of hook.bodies) {
        const mac = createHmac('sha256', SECRET).update(`${b.timestamp}.${b.body}`).digest('hex');
        expect(b.signature).toBe(`sha256=${mac}`);
      }
    } finally {
      await hook.close();
    }
  });

  it('keeps records while the receiver is down and delivers them, in order, once it is back', async () => {
    const hook = await receiver();
    try {
      const e = await exporter(hook.url);
      hook.fail(true);
      const seqs = await append(200, 20);
      await expect.poll(() => e.stats.failedAttempts, { timeout: 10_000, interval: 25 }).toBeGreaterThan(2);
      expect(hook.seqs).toEqual([]);
      hook.fail(false);
      await expect.poll(() => hook.seqs.length, { timeout: 10_000, interval: 25 }).toBe(20);
      expect(hook.seqs).toEqual(seqs);
    } finally {
      await hook.close();
    }
  });

  it('resumes after a restart from what the receiver acknowledged: nothing lost, nothing resent', async () => {
    const hook = await receiver();
    try {
      const first = await exporter(hook.url);
      const before = await append(300, 10);
      await expect.poll(() => hook.seqs.length, { timeout: 10_000, interval: 25 }).toBe(10);
      await first.onApplicationShutdown();
      // Committed while no gateway delivered (between a stop and the next start).
      const during = await append(400, 10);
      await exporter(hook.url);
      const after = await append(500, 10);
      await expect.poll(() => hook.seqs.length, { timeout: 10_000, interval: 25 }).toBe(30);
      expect(hook.seqs).toEqual([...before, ...during, ...after]);
    } finally {
      await hook.close();
    }
  });

  it('with two replicas, one delivers (lease) and each record arrives once', async () => {
    const hook = await receiver();
    try {
      const [a, b] = [await exporter(hook.url), await exporter(hook.url)];
      const seqs: string[] = [];
      for (let i = 0; i < 5; i++) seqs.push(...(await append(600 + i * 10, 10)));
      await expect.poll(() => hook.seqs.length, { timeout: 10_000, interval: 25 }).toBe(50);
      // Give the other replica a chance to (wrongly) post again.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(hook.seqs).toEqual(seqs);
      expect([a.stats.delivered, b.stats.delivered].sort((x, y) => x - y)).toEqual([0, 50]);
    } finally {
      await hook.close();
    }
  });
});
