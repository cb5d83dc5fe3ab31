import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlExecutor, Store } from '@tollgate/store';
import { openTestStore } from '../../testing/test-store';
import { AuditCommitter, AuditUnavailableError } from './audit-committer';
import { verifyAuditLog } from './audit-verifier';

async function createSession(store: Store): Promise<string> {
  const id = randomUUID();
  await store.prisma.session.create({
    data: { id, connectionName: 'pg-prod', protocol: 'postgres', subject: 'user:alice' },
  });
  return id;
}

const command = (sessionId: string, n: number) => ({
  subject: 'user:alice',
  action: 'command',
  target: 'connection:pg-prod',
  decision: 'allow',
  payload: { policyVersion: 3 },
  session: {
    id: sessionId,
    kind: 'command',
    event: { type: 'command', sessionId, command: `SELECT ${n}`, decision: 'allow', policyVersion: 3 },
  },
});

describe.each(['pglite', 'postgres'] as const)('audit group commit on %s', (kind) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ store, remove: cleanup } = await openTestStore(kind, 'tollgate-audit-'));
  });
  afterAll(() => cleanup());

  it('commits concurrent events in shared transactions, chained per session and globally', async () => {
    const committer = new AuditCommitter(store.sql);
    const sessions = await Promise.all(Array.from({ length: 16 }, () => createSession(store)));
    const results = await Promise.all(
      sessions.flatMap((id) => Array.from({ length: 10 }, (_, n) => committer.append(command(id, n)))),
    );
    expect(results).toHaveLength(160);
    expect(new Set(results.map((r) => r.seq)).size).toBe(160);
    // Group commit: far fewer transactions than records.
    expect(committer.stats.batches).toBeLessThan(20);
    for (const id of sessions) {
      const seqs = (
        await store.prisma.sessionEvent.findMany({ where: { sessionId: id }, orderBy: { seq: 'asc' } })
      ).map((e) => e.seq);
      expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    }
    const verified = await verifyAuditLog(store.prisma);
    expect(verified).toMatchObject({
      ok: true,
      global: { count: 160 },
      sessions: { checked: 16, events: 160 },
    });
  });

  it('two replicas appending at once never fork a chain', async () => {
    const replicas = [new AuditCommitter(store.sql), new AuditCommitter(store.sql)];
    const sessions = await Promise.all(Array.from({ length: 8 }, () => createSession(store)));
    const outcomes = await Promise.allSettled(
      sessions.map(async (id, i) => {
        const committer = replicas[i % 2];
        for (let n = 0; n < 10; n++) await committer.append(command(id, n));
      }),
    );
    // A record may be refused when the other replica wins twice in a row; none may be lost or forked.
    const refused = outcomes.filter((o) => o.status === 'rejected');
    refused.forEach((o) => expect(o.reason).toBeInstanceOf(AuditUnavailableError));
    const verified = await verifyAuditLog(store.prisma);
    expect(verified.faults).toEqual([]);
    expect(verified.ok).toBe(true);
  });

  it('commits a deferred record with the next command, and on its own when none comes', async () => {
    const committer = new AuditCommitter(store.sql, { deferMs: 20 });
    const id = await createSession(store);
    await committer.append(command(id, 1));
    const batches = committer.stats.batches;
    const result = committer.append(
      {
        ...command(id, 1),
        action: 'command.result',
        session: { ...command(id, 1).session, kind: 'command.result' },
      },
      { defer: true },
    );
    const next = await committer.append(command(id, 2));
    expect(await result).toMatchObject({ sessionSeq: 2 });
    expect(next.sessionSeq).toBe(3);
    expect(committer.stats.batches).toBe(batches + 1);
    const alone = await committer.append(
      {
        ...command(id, 2),
        action: 'command.result',
        session: { ...command(id, 2).session, kind: 'command.result' },
      },
      { defer: true },
    );
    expect(alone.sessionSeq).toBe(4);
    const kinds = (
      await store.prisma.sessionEvent.findMany({ where: { sessionId: id }, orderBy: { seq: 'asc' } })
    ).map((e) => e.kind);
    expect(kinds).toEqual(['command', 'command.result', 'command', 'command.result']);
    expect((await verifyAuditLog(store.prisma)).ok).toBe(true);
  });

  it('marks a session open with the next commit, or alone after a while; a close in the same commit wins and names the agent', async () => {
    const agentId = (await store.prisma.agent.create({ data: { name: `agent-${randomUUID()}` } })).id;
    const row = (id: string) =>
      store.prisma.session.findUniqueOrThrow({ where: { id }, select: { state: true, agentId: true } });
    const committer = new AuditCommitter(store.sql, { openDeferMs: 60_000 });
    const [a, b] = [await createSession(store), await createSession(store)];
    const openA = committer.markOpen(a, agentId);
    expect(await row(a)).toEqual({ state: 'opening', agentId: null });
    await committer.append(command(a, 1));
    await openA;
    expect(committer.stats.batches).toBe(1);
    expect(await row(a)).toEqual({ state: 'open', agentId });

    const openB = committer.markOpen(b, agentId);
    await committer.append({
      ...command(b, 1),
      action: 'session.close',
      session: { ...command(b, 1).session, kind: 'session.close' },
      sessionEnd: { id: b, reason: 'closed', endedAt: new Date().toISOString(), agentId },
    });
    await openB;
    expect(committer.stats.batches).toBe(2);
    expect(await row(b)).toEqual({ state: 'closed', agentId });

    const alone = new AuditCommitter(store.sql, { openDeferMs: 20 });
    const c = await createSession(store);
    await alone.markOpen(c, agentId);
    expect(alone.stats.batches).toBe(1);
    expect(await row(c)).toEqual({ state: 'open', agentId });
    expect((await verifyAuditLog(store.prisma)).ok).toBe(true);
  });

  it('starts a new session’s chain without reading its head, and recovers when it was not new', async () => {
    const statements: string[] = [];
    const sql: SqlExecutor = {
      query: (text, params, options) => {
        statements.push(text);
        return store.sql.query(text, params, options);
      },
      exec: (text) => store.sql.exec(text),
    };
    const committer = new AuditCommitter(sql);
    await committer.append(command(await createSession(store), 0));
    const id = await createSession(store);
    statements.length = 0;
    const open = {
      ...command(id, 0),
      action: 'session.open',
      session: { ...command(id, 0).session, kind: 'session.open' },
    };
    expect(await committer.append(open)).toMatchObject({ sessionSeq: 1 });
    expect(statements).toHaveLength(1);
    // Another committer (a replica, or this one after a restart) sees a session.open for a chain
    // that is not new: the unique key refuses it, and it is chained again from the store's head.
    expect(await new AuditCommitter(store.sql).append(open)).toMatchObject({ sessionSeq: 2 });
    expect((await verifyAuditLog(store.prisma)).ok).toBe(true);
  });

  it('verify names the first altered, removed or truncated event', async () => {
    const committer = new AuditCommitter(store.sql);
    const id = await createSession(store);
    for (let n = 0; n < 5; n++) await committer.append(command(id, n));

    const third = await store.prisma.sessionEvent.findFirstOrThrow({ where: { sessionId: id, seq: 3 } });
    await store.prisma.$executeRawUnsafe(
      `UPDATE session_events SET payload = jsonb_set(payload, '{command}', '"DROP TABLE users"') WHERE id = $1`,
      third.id,
    );
    let verified = await verifyAuditLog(store.prisma);
    expect(verified.ok).toBe(false);
    expect(verified.faults).toEqual([
      expect.objectContaining({ chain: id, seq: 3, rowId: third.id.toString(), reason: 'altered' }),
    ]);
    await store.prisma.$executeRawUnsafe(`DELETE FROM session_events WHERE id = $1`, third.id);
    verified = await verifyAuditLog(store.prisma);
    expect(verified.faults).toEqual([expect.objectContaining({ chain: id, seq: 3, reason: 'removed' })]);

    // The tail of a session chain is known from the global chain.
    const other = await createSession(store);
    for (let n = 0; n < 3; n++) await committer.append(command(other, n));
    await store.prisma.$executeRawUnsafe(
      `DELETE FROM session_events WHERE session_id = $1::uuid AND seq = 3`,
      other,
    );
    verified = await verifyAuditLog(store.prisma);
    expect(verified.faults).toContainEqual(
      expect.objectContaining({ chain: other, seq: 3, reason: 'truncated' }),
    );

    const entry = await store.prisma.auditEntry.findFirstOrThrow({ where: { seq: 7n } });
    await store.prisma.$executeRawUnsafe(
      `UPDATE audit_entries SET decision = 'deny' WHERE id = $1`,
      entry.id,
    );
    verified = await verifyAuditLog(store.prisma);
    expect(verified.faults[0]).toMatchObject({
      chain: 'global',
      seq: 7,
      rowId: entry.id.toString(),
      reason: 'altered',
    });
  });

  it('fails closed: an append the store cannot take rejects, and nothing of it is stored', async () => {
    const session = await createSession(store);
    const committer = new AuditCommitter(store.sql);
    await committer.append(command(session, 1));
    // (An earlier test altered a record on purpose: only new faults count.)
    const faultsBefore = (await verifyAuditLog(store.prisma)).faults;
    // The store refuses every new session event (as a full disk or a lost primary would).
    await store.sql.exec(`
      CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'audit store refuses writes'; END $$;
      CREATE TRIGGER refuse_audit BEFORE INSERT ON session_events FOR EACH ROW EXECUTE FUNCTION refuse_audit();`);
    const globalBefore = await store.prisma.auditEntry.count();
    try {
      await expect(committer.append(command(session, 2))).rejects.toBeInstanceOf(AuditUnavailableError);
      // The batch is one statement: its global record did not land without its session event.
      expect(await store.prisma.auditEntry.count()).toBe(globalBefore);
    } finally {
      await store.sql.exec('DROP TRIGGER refuse_audit ON session_events; DROP FUNCTION refuse_audit();');
    }
    // Once the store takes writes again, the chain goes on from what is stored.
    await committer.append(command(session, 3));
    expect((await verifyAuditLog(store.prisma)).faults).toEqual(faultsBefore);
  });
});
