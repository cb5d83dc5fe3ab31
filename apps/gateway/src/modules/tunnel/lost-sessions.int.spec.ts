import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import { StoreService } from '../store/store.service';
import { LostSessions } from './lost-sessions';

interface SessionDetail {
  state: string;
  closeReason: string | null;
  events: { kind: string; event: { reason?: string; detail?: string } }[];
}

/**
 * Sessions whose gateway replica stopped (SIGKILL, a dead host) are closed as lost by the replicas
 * that survive it, with a heartbeat row per replica in the shared PostgreSQL store.
 */
describe('lost sessions (replica heartbeats on a PostgreSQL store)', () => {
  let gw: TestGateway;
  let drop: () => Promise<void>;
  let store: StoreService;

  /** A session row as a replica would have written it while relaying. */
  const openSession = async (replicaId: string | null) => {
    const id = randomUUID();
    await store.prisma.session.create({
      data: {
        id,
        connectionName: 'pg-app',
        protocol: 'postgres',
        subject: 'user:ada',
        actorChain: [{ subject: 'sa:ci' }],
        state: 'open',
        replicaId,
        startedAt: new Date(Date.now() - 60_000),
      },
    });
    return id;
  };
  const beat = (id: string, ageMs: number) =>
    store.prisma.replicaHeartbeat.create({ data: { id, lastSeenAt: new Date(Date.now() - ageMs) } });
  const detail = async (id: string) =>
    (await gw.request('GET', `/api/v1/sessions/${id}`)).body as SessionDetail;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    // A liveness window no test outlasts by accident: replicas are dead or alive by their rows' age.
    gw = await startTestGateway({ DATABASE_URL: db.url, TOLLGATE_REPLICA_LIVENESS_MS: '60000' });
    store = gw.gateway.resolve(StoreService);
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
    await drop?.();
  });

  it('closes as lost the sessions of a replica whose heartbeat stopped, and only those', async () => {
    await beat('gw-dead', 120_000);
    await beat('gw-alive', 1_000);
    const dead = await openSession('gw-dead');
    const never = await openSession('gw-never-beat');
    const legacy = await openSession(null);
    const alive = await openSession('gw-alive');

    // (The gateway sweeps by itself too; either sweep may be the one that closes them.)
    await gw.gateway.resolve(LostSessions).sweep();
    for (const id of [dead, never, legacy]) {
      const session = await detail(id);
      expect(session.state).toBe('closed');
      expect(session.closeReason).toMatch(/^lost: /);
      expect(session.events.find((e) => e.kind === 'session.close')?.event.reason).toBe('lost');
    }
    expect((await detail(alive)).state).toBe('open');
    // Swept again (another replica at the same time): nothing is closed or recorded twice.
    await gw.gateway.resolve(LostSessions).sweep();
    expect((await detail(dead)).events.filter((e) => e.kind === 'session.close')).toHaveLength(1);
  });

  it('`sessions kill` on a session nobody relays says so and closes it as lost', async () => {
    await beat('gw-killed-dead', 120_000);
    const id = await openSession('gw-killed-dead');
    const kill = await gw.request('POST', `/api/v1/sessions/${id}/kill`);
    const answer = kill.body as { id: string; killed: boolean; closed: string; detail: string };
    expect(answer).toMatchObject({ id, killed: false, closed: 'lost' });
    expect(answer.detail).toMatch(
      /^no gateway relays this session any more, so there was nothing to kill; it is closed as lost: .*gw-killed-dead.*closed by sa:bootstrap-admin$/,
    );
    expect((await detail(id)).closeReason).toMatch(/^lost: /);
    expect((await gw.request('POST', `/api/v1/sessions/${id}/kill`)).status).toBe(409);
  });

  it('a kill of a session another live replica relays is handed to that replica', async () => {
    await beat('gw-relaying', 500);
    const id = await openSession('gw-relaying');
    const kill = await gw.request('POST', `/api/v1/sessions/${id}/kill`);
    expect(kill).toMatchObject({ status: 202, body: { id, killed: true } });
    const row = await store.prisma.session.findUnique({ where: { id } });
    expect(row).toMatchObject({ state: 'open', killRequestedBy: 'sa:bootstrap-admin' });
  });
});
