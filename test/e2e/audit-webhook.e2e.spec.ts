import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTestDatabase,
  startTunnelGateway,
  type CliProcess,
  type TunnelGateway,
} from '@tollgate/testing';

/**
 * The audit webhook across a gateway crash: records committed while the receiver is down are not
 * lost when the gateway is killed (SIGKILL) — the restarted gateway delivers them, in order, with no
 * gap in the sequence, from the cursor in the store.
 */
describe('audit webhook survives a down receiver and a gateway crash (real gateway, real receiver)', () => {
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let server: Server;
  let url: string;
  let failing = true;
  const seqs: number[] = [];
  const actions: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        if (failing) {
          res.statusCode = 503;
          return void res.end();
        }
        const parsed = JSON.parse(body) as { records: { seq: string; action: string }[] };
        for (const r of parsed.records) {
          seqs.push(Number(r.seq));
          actions.push(r.action);
        }
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/audit`;
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it(
    'delivers what was committed before the crash once the receiver and the gateway are back',
    { timeout: 90_000 },
    async () => {
      const db = await createTestDatabase();
      cleanups.push(db.drop);
      const env = {
        DATABASE_URL: db.url,
        TOLLGATE_AUDIT_WEBHOOK_URL: url,
        TOLLGATE_WEBHOOK_SECRET: 'a-webhook-secret-for-the-test',
      };
      let gateway: TunnelGateway = await startTunnelGateway([], env);
      processes.push(gateway.cli);
      // Audited actions (each admin call is authorized and recorded) while the receiver answers 503.
      await createAgent(gateway, 'edge-before-crash');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(seqs).toEqual([]);
      await gateway.cli.stop('SIGKILL');

      failing = false;
      gateway = await startTunnelGateway([], env);
      processes.push(gateway.cli);
      await createAgent(gateway, 'edge-after-restart');

      await expect
        .poll(() => actions.filter((a) => a === 'authorize:admin').length, {
          // The killed gateway's delivery lease (15 s) lapses first.
          timeout: 40_000,
          interval: 50,
        })
        .toBeGreaterThanOrEqual(2);
      // One admin call was made before the crash and one after: both arrived. In order, no gap,
      // nothing twice — from the first record the webhook ever saw.
      expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i));
    },
  );
});
