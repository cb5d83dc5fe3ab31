import { randomUUID } from 'node:crypto';
import { GENESIS_HASH, verifyChain } from '@tollgate/audit';
import type { SqlExecutor, SqlRow } from '@tollgate/store';
import { describe, expect, it } from 'vitest';
import { AuditCommitter, AuditUnavailableError, jsonArrayText, type AuditAppend } from './audit-committer';
import { GLOBAL_AUDIT_CHAIN } from './audit-hash';

interface AuditRow {
  seq: number;
  subject: string;
  actor_chain: unknown;
  action: string;
  target: string | null;
  decision: string;
  reason: string | null;
  payload: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}
interface SessionRow {
  session_id: string;
  seq: number;
  kind: string;
  payload: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

/**
 * An in-memory store that understands the committer's three statements, enforces the unique keys,
 * and lets a test hold each insert in flight and decide how it ends.
 */
class FakeStore implements SqlExecutor {
  readonly audit: (AuditRow & { at: string })[] = [];
  readonly sessions: SessionRow[] = [];
  /** Inserts sent and not yet finished, oldest first. */
  readonly held: { rows: number; finish: (error?: Error) => void }[] = [];
  /** Every insert sent, as the number of records in it. */
  readonly sent: number[] = [];
  hold = false;
  /** Session heads asked for. */
  readonly headQueries: string[][] = [];

  query<Row extends SqlRow = SqlRow>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    if (sql.includes('INSERT')) return this.insert(params) as Promise<Row[]>;
    if (sql.includes('FROM audit_entries')) {
      const last = this.audit.at(-1);
      return Promise.resolve((last ? [{ seq: String(last.seq), hash: last.hash }] : []) as unknown as Row[]);
    }
    const ids = params[0] as string[];
    this.headQueries.push(ids);
    const rows = ids.flatMap((id) => {
      const last = this.sessions.filter((s) => s.session_id === id).at(-1);
      return last ? [{ session_id: id, seq: last.seq, hash: last.hash }] : [];
    });
    return Promise.resolve(rows as unknown as Row[]);
  }

  exec(): Promise<void> {
    return Promise.resolve();
  }

  /** Finishes the oldest held insert (stored, or failed with `error`). */
  async release(error?: Error): Promise<void> {
    const next = this.held.shift();
    if (!next) throw new Error('no insert in flight');
    next.finish(error);
    await settle();
  }

  private insert(params: readonly unknown[]): Promise<SqlRow[]> {
    const at = params[0] as string;
    const audit = (JSON.parse(params[1] as string) as unknown[][]).map(
      ([seq, subject, actor_chain, action, target, decision, reason, payload, prev_hash, hash]) =>
        ({
          seq,
          subject,
          actor_chain,
          action,
          target,
          decision,
          reason,
          payload,
          prev_hash,
          hash,
        }) as AuditRow,
    );
    const sessions = (JSON.parse(params[2] as string) as unknown[][]).map(
      ([session_id, seq, kind, payload, prev_hash, hash]) =>
        ({ session_id, seq, kind, payload, prev_hash, hash }) as SessionRow,
    );
    this.sent.push(audit.length);
    const store = (error?: Error): SqlRow[] => {
      if (error) throw error;
      for (const row of audit) {
        if (this.audit.some((r) => r.seq === row.seq)) throw uniqueViolation();
      }
      for (const row of sessions) {
        if (this.sessions.some((r) => r.session_id === row.session_id && r.seq === row.seq))
          throw uniqueViolation();
      }
      this.audit.push(...audit.map((row) => ({ ...row, at })));
      this.sessions.push(...sessions);
      return [];
    };
    if (!this.hold) return Promise.resolve().then(() => store());
    return new Promise((resolve, reject) => {
      this.held.push({
        rows: audit.length,
        finish: (error) => {
          try {
            resolve(store(error));
          } catch (failure) {
            reject(failure instanceof Error ? failure : new Error(String(failure)));
          }
        },
      });
    });
  }

  globalChain() {
    return this.audit.map((r) => ({
      chain: GLOBAL_AUDIT_CHAIN,
      seq: r.seq,
      prevHash: r.prev_hash,
      hash: r.hash,
      event: {
        at: r.at,
        subject: r.subject,
        actorChain: r.actor_chain,
        action: r.action,
        target: r.target,
        decision: r.decision,
        reason: r.reason,
        payload: r.payload,
      },
    }));
  }

  sessionChain(id: string) {
    return this.sessions
      .filter((s) => s.session_id === id)
      .map((s) => ({ chain: id, seq: s.seq, prevHash: s.prev_hash, hash: s.hash, event: s.payload }));
  }
}

function uniqueViolation(): Error {
  return Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' });
}

/** Lets promise callbacks and pending microtasks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

const event = (sessionId: string, kind: string, n: number): AuditAppend => ({
  subject: 'user:alice',
  action: kind,
  target: 'connection:pg-prod',
  decision: 'allow',
  payload: { policyVersion: 3 },
  session: { id: sessionId, kind, event: { type: kind, sessionId, n } },
});

function expectValidChains(store: FakeStore, sessionIds: readonly string[]): void {
  expect(
    verifyChain(store.globalChain(), { from: { chain: GLOBAL_AUDIT_CHAIN, seq: 0, hash: GENESIS_HASH } }),
  ).toMatchObject({ ok: true, count: store.audit.length });
  for (const id of sessionIds) {
    expect(
      verifyChain(store.sessionChain(id), { from: { chain: id, seq: 0, hash: GENESIS_HASH } }),
    ).toMatchObject({
      ok: true,
    });
  }
}

describe('AuditCommitter', () => {
  it('does not start a commit for a deferred record, and commits it on its own after deferMs', async () => {
    const store = new FakeStore();
    const committer = new AuditCommitter(store, { deferMs: 30 });
    const id = randomUUID();
    const result = committer.append(event(id, 'command.result', 1), { defer: true });
    await settle();
    expect(store.sent).toEqual([]);
    await expect(result).resolves.toMatchObject({ seq: 1n, sessionSeq: 1 });
    expect(store.sent).toEqual([1]);
    expectValidChains(store, [id]);
  });

  it('flush commits deferred records and rows to mark open now, and resolves once they are durable', async () => {
    const store = new FakeStore();
    const committer = new AuditCommitter(store, { deferMs: 60_000, openDeferMs: 60_000 });
    const id = randomUUID();
    let durable = false;
    void committer.append(event(id, 'command.result', 1), { defer: true }).then(() => (durable = true));
    let open = false;
    void committer.markOpen(randomUUID(), randomUUID()).then(() => (open = true));
    await settle();
    expect(store.sent).toEqual([]);
    await committer.flush();
    expect(durable).toBe(true);
    expect(open).toBe(true);
    expect(store.sent).toEqual([1]);
    expectValidChains(store, [id]);
  });

  it('flush gives up after its timeout when the store does not answer', async () => {
    const store = new FakeStore();
    store.hold = true;
    const committer = new AuditCommitter(store, { deferMs: 60_000 });
    void committer.append(event(randomUUID(), 'command.result', 1), { defer: true }).catch(() => undefined);
    await committer.flush(50);
    expect(store.held).toHaveLength(1);
    store.held[0].finish();
  });

  it('lets a deferred record ride along with the next commit, in the order of the append calls', async () => {
    const store = new FakeStore();
    const committer = new AuditCommitter(store, { deferMs: 60_000 });
    const id = randomUUID();
    const first = await committer.append(event(id, 'command', 1));
    const result = committer.append(event(id, 'command.result', 1), { defer: true });
    await settle();
    expect(store.sent).toEqual([1]);
    // The session's next command is committed together with the result before it.
    const second = await committer.append(event(id, 'command', 2));
    await expect(result).resolves.toMatchObject({ sessionSeq: 2 });
    expect(first.sessionSeq).toBe(1);
    expect(second.sessionSeq).toBe(3);
    expect(store.sent).toEqual([1, 2]);
    expect(store.sessions.map((s) => s.kind)).toEqual(['command', 'command.result', 'command']);
    expectValidChains(store, [id]);
  });

  it('rides a deferred record along with another session’s commit', async () => {
    const store = new FakeStore();
    const committer = new AuditCommitter(store, { deferMs: 60_000 });
    const [a, b] = [randomUUID(), randomUUID()];
    const result = committer.append(event(a, 'command.result', 1), { defer: true });
    await committer.append(event(b, 'command', 1));
    await expect(result).resolves.toMatchObject({ seq: 1n });
    expect(store.sent).toEqual([2]);
    expectValidChains(store, [a, b]);
  });

  it('chains the next batch while one is in flight, and sends it only after that one committed', async () => {
    const store = new FakeStore();
    store.hold = true;
    const committer = new AuditCommitter(store);
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const first = committer.append(event(ids[0], 'command', 1));
    await settle();
    expect(store.sent).toEqual([1]);
    const next = ids.map((id) => committer.append(event(id, 'command', 2)));
    await settle();
    // Still one insert in flight: the next batch waits, however long the first takes.
    expect(store.sent).toEqual([1]);
    await store.release();
    await expect(first).resolves.toMatchObject({ seq: 1n });
    expect(store.sent).toEqual([1, 3]);
    await store.release();
    expect((await Promise.all(next)).map((c) => c.seq)).toEqual([2n, 3n, 4n]);
    expect(committer.stats).toEqual({ batches: 2, records: 4 });
    expectValidChains(store, ids);
  });

  it('fails closed: a batch the store refuses rejects, and what was chained on top of it is chained again', async () => {
    const store = new FakeStore();
    store.hold = true;
    const committer = new AuditCommitter(store, { deferMs: 60_000 });
    const [a, b] = [randomUUID(), randomUUID()];
    const first = committer.append(event(a, 'command', 1));
    await settle();
    await store.release();
    await first;
    const refused = committer.append(event(a, 'command', 2));
    refused.catch(() => {});
    await settle();
    const later = [
      committer.append(event(b, 'command', 1)),
      committer.append(event(a, 'command.result', 2), { defer: true }),
    ];
    await settle();
    await store.release(new Error('connection terminated'));
    await expect(refused).rejects.toBeInstanceOf(AuditUnavailableError);
    await expect(refused).rejects.toThrow(/connection terminated/);
    // The records built on the refused batch go again, from the heads in the store: no gap.
    expect(store.sent).toEqual([1, 1, 2]);
    await store.release();
    const [bFirst, aResult] = await Promise.all(later);
    expect(bFirst).toMatchObject({ seq: 2n, sessionSeq: 1 });
    expect(aResult).toMatchObject({ seq: 3n, sessionSeq: 2 });
    expectValidChains(store, [a, b]);
  });

  it.each([
    [
      'a value one record holds (a check constraint, SQLSTATE 23514)',
      '23514',
      'new row violates check constraint "no_poison"',
    ],
    ["a trigger's RAISE on one record (SQLSTATE P0001)", 'P0001', 'audit store unavailable'],
  ])('when the store refuses %s, only that record is refused', async (_what, code, message) => {
    const store = new FakeStore();
    store.hold = true;
    const committer = new AuditCommitter(store, { deferMs: 60_000 });
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const first = committer.append(event(a, 'command', 1));
    await settle();
    // Two unrelated records share the next commit: a poison one and another session's open.
    const poison = committer.append(event(b, 'command', 1));
    poison.catch(() => {});
    const open = committer.append(event(c, 'session.open', 1));
    await settle();
    await store.release();
    await first;
    expect(store.sent).toEqual([1, 2]);
    const refusal = Object.assign(new Error(message), { code });
    await store.release(refusal);
    // Each is tried again alone: the poison record fails on its own, the open goes through.
    expect(store.sent).toEqual([1, 2, 1]);
    await store.release(refusal);
    await expect(poison).rejects.toThrow(message);
    expect(store.sent).toEqual([1, 2, 1, 1]);
    await store.release();
    await expect(open).resolves.toMatchObject({ sessionSeq: 1 });
    // Back to sharing commits afterwards.
    const later = [committer.append(event(a, 'command', 2)), committer.append(event(c, 'command', 2))];
    await settle();
    await store.release();
    await Promise.all(later);
    expect(store.sent).toEqual([1, 2, 1, 1, 2]);
    expectValidChains(store, [a, c]);
  });

  it("refuses a whole batch at once when the store's own state refuses it (a full disk, SQLSTATE 53100)", async () => {
    const store = new FakeStore();
    store.hold = true;
    const committer = new AuditCommitter(store, { deferMs: 60_000 });
    const [a, c] = [randomUUID(), randomUUID()];
    const first = committer.append(event(a, 'command', 1));
    await settle();
    const both = [committer.append(event(a, 'command', 2)), committer.append(event(c, 'command', 1))];
    for (const p of both) p.catch(() => {});
    await settle();
    await store.release();
    await first;
    await store.release(
      Object.assign(new Error('could not extend file: No space left on device'), { code: '53100' }),
    );
    await Promise.all(both.map((p) => expect(p).rejects.toBeInstanceOf(AuditUnavailableError)));
    // Not tried again record by record: nothing more was sent.
    expect(store.sent).toEqual([1, 2]);
  });

  it('rejects a deferred record the store does not take', async () => {
    const store = new FakeStore();
    store.hold = true;
    const committer = new AuditCommitter(store, { deferMs: 1 });
    const result = committer
      .append(event(randomUUID(), 'command.result', 1), { defer: true })
      .catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await store.release(new Error('disk full'));
    expect(await result).toBeInstanceOf(AuditUnavailableError);
  });

  it('refuses a record not durable in time', async () => {
    const store = new FakeStore();
    store.hold = true;
    const committer = new AuditCommitter(store, { timeoutMs: 30 });
    const started = performance.now();
    await expect(committer.append(event(randomUUID(), 'command', 1))).rejects.toThrow(
      /no commit within 30 ms/,
    );
    expect(performance.now() - started).toBeLessThan(1_000);
    await store.release();
  });

  it('when another writer moved the chain on, chains the batch again from the store and retries once', async () => {
    const store = new FakeStore();
    const replica = new AuditCommitter(store);
    const committer = new AuditCommitter(store);
    const [a, b] = [randomUUID(), randomUUID()];
    await committer.append(event(a, 'command', 1));
    // The other replica writes seq 2 and 3; this committer still believes the head is 1.
    await replica.append(event(b, 'command', 1));
    await replica.append(event(b, 'command', 2));
    const committed = await committer.append(event(a, 'command', 2));
    expect(committed).toMatchObject({ seq: 4n, sessionSeq: 2 });
    expectValidChains(store, [a, b]);
  });

  it('chains results that arrive after a session’s close on the kept head, without asking the store', async () => {
    const store = new FakeStore();
    const committer = new AuditCommitter(store);
    const id = randomUUID();
    await committer.append(event(id, 'session.open', 1));
    await committer.append(event(id, 'command', 2));
    await committer.append(event(id, 'session.close', 3));
    await expect(committer.append(event(id, 'command.result', 4))).resolves.toMatchObject({ sessionSeq: 4 });
    expect(store.headQueries).toEqual([]);
    expectValidChains(store, [id]);
  });

  it('starts a new session’s chain without asking the store for its head', async () => {
    const store = new FakeStore();
    const committer = new AuditCommitter(store);
    const [a, b] = [randomUUID(), randomUUID()];
    await committer.append(event(a, 'session.open', 0));
    await committer.append(event(b, 'session.open', 0));
    await committer.append(event(a, 'command', 1));
    expect(store.headQueries).toEqual([]);
    expectValidChains(store, [a, b]);
  });

  it('chains a session.open again from the store when its session already has events', async () => {
    const store = new FakeStore();
    const id = randomUUID();
    await new AuditCommitter(store).append(event(id, 'command', 1));
    const asked = store.headQueries.length;
    const committed = await new AuditCommitter(store).append(event(id, 'session.open', 0));
    expect(committed).toMatchObject({ seq: 2n, sessionSeq: 2 });
    // Tried as a new chain first; refused by the unique key; then from the head in the store.
    expect(store.headQueries.slice(asked)).toEqual([[id]]);
    expect(store.sent).toEqual([1, 1, 1]);
    expectValidChains(store, [id]);
  });

  it('refuses a record it cannot serialize without touching the chain', async () => {
    const store = new FakeStore();
    const committer = new AuditCommitter(store);
    const id = randomUUID();
    const bad = committer.append({ ...event(id, 'command', 1), payload: { n: 1n } });
    const good = committer.append(event(id, 'command', 2));
    await expect(bad).rejects.toBeInstanceOf(AuditUnavailableError);
    await expect(good).resolves.toMatchObject({ seq: 1n, sessionSeq: 1 });
    expectValidChains(store, [id]);
  });
});

describe('jsonArrayText', () => {
  it('writes the rows as one JSON array, leaving the rows as they were', () => {
    for (const rows of [[], ['[1,"a"]'], ['[1,"a"]', '[2,"b"]'], ['{"x":1}', '[]', '"s"', '3']]) {
      const copy = [...rows];
      const text = jsonArrayText(rows);
      expect(text).toBe(`[${rows.join(',')}]`);
      expect(JSON.parse(text)).toEqual(rows.map((r) => JSON.parse(r) as unknown));
      expect(rows).toEqual(copy);
    }
  });
});
