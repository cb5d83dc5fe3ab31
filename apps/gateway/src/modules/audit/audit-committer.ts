import { linkHash, GENESIS_HASH } from '@tollgate/audit';
import type { SqlExecutor } from '@tollgate/store';
import { auditEntryHash, type HashedAuditFields } from './audit-hash';

/** One record for the global chain, and optionally the session chain it also belongs to. */
export interface AuditAppend {
  readonly subject: string;
  readonly actorChain?: readonly { readonly subject: string }[];
  readonly action: string;
  readonly target?: string | null;
  readonly decision: string;
  readonly reason?: string | null;
  readonly payload?: Record<string, unknown>;
  /** Also append `event` to this session's own chain (`session_events`). */
  readonly session?: { readonly id: string; readonly kind: string; readonly event: Record<string, unknown> };
}

export interface CommittedAudit {
  readonly seq: bigint;
  readonly hash: string;
  /** Position in the session's chain, for appends that named a session. */
  readonly sessionSeq?: number;
}

export interface AuditCommitterOptions {
  /** Most records per transaction (bounded by PostgreSQL's 65535 bind parameters). */
  readonly maxBatch?: number;
  /** A record not durable within this many milliseconds is reported as failed (fail closed). */
  readonly timeoutMs?: number;
  /** Called after each commit with the records it made durable (e.g. to feed webhooks). */
  readonly onCommit?: (records: readonly CommittedRecord[]) => void;
}

/** A committed global record, as stored (and as `tollgate audit export` prints it). */
export interface CommittedRecord extends HashedAuditFields {
  readonly seq: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** The store did not record an audit event; the action it was guarding must not happen. */
export class AuditUnavailableError extends Error {
  constructor(cause: unknown) {
    super(
      `the audit store could not record the event (${cause instanceof Error ? cause.message : String(cause)})`,
    );
    this.name = 'AuditUnavailableError';
  }
}

interface Pending {
  readonly append: AuditAppend;
  readonly resolve: (committed: CommittedAudit) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for the audit log. Appends queue up while a transaction is in flight; when it ends,
 * everything that arrived meanwhile is committed together in one statement (a multi-row insert
 * into both chains, its own transaction: one round trip per batch). Under load a batch holds as many records as
 * there are concurrent sessions, so the cost per record is a fraction of a round trip. A promise
 * resolves only after COMMIT, so the caller can forward the command it guards; it rejects with
 * AuditUnavailableError when the store fails or does not answer in time.
 */
export class AuditCommitter {
  private readonly queue: Pending[] = [];
  private committing = false;
  private readonly maxBatch: number;
  private readonly timeoutMs: number;
  private readonly onCommit: ((records: readonly CommittedRecord[]) => void) | undefined;
  /** Batches committed and records in them, for the benchmark and metrics. */
  readonly stats = { batches: 0, records: 0 };

  constructor(
    private readonly sql: SqlExecutor,
    options: AuditCommitterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.onCommit = options.onCommit;
  }

  append(append: AuditAppend): Promise<CommittedAudit> {
    return new Promise<CommittedAudit>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        if (settled) return;
        settled = true;
        reject(new AuditUnavailableError(new Error(`no commit within ${this.timeoutMs} ms`)));
      }, this.timeoutMs);
      this.queue.push({
        append,
        resolve: (committed) => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          resolve(committed);
        },
        reject: (error) => {
          clearTimeout(timer);
          if (settled) return;
          settled = true;
          reject(error instanceof AuditUnavailableError ? error : new AuditUnavailableError(error));
        },
      });
      this.kick();
    });
  }

  private kick(): void {
    if (this.committing || this.queue.length === 0) return;
    this.committing = true;
    const batch = this.queue.splice(0, this.maxBatch);
    this.commit(batch.map((p) => p.append))
      .then(
        (results) => batch.forEach((p, i) => p.resolve(results[i])),
        (error: unknown) => batch.forEach((p) => p.reject(error)),
      )
      .finally(() => {
        this.committing = false;
        this.kick();
      });
  }

  private async commit(appends: readonly AuditAppend[]): Promise<CommittedAudit[]> {
    try {
      return await this.commitOnce(appends);
    } catch (error) {
      // Another writer (a second gateway replica) moved a chain on: reload the heads and retry once.
      this.globalHead = undefined;
      this.sessionHeads.clear();
      if (!isUniqueViolation(error)) throw error;
      return this.commitOnce(appends);
    }
  }

  /** The heads this committer last wrote; reloaded from the store when unknown. */
  private globalHead: { seq: bigint; hash: string } | undefined;
  private readonly sessionHeads = new Map<string, { seq: number; hash: string }>();

  private async commitOnce(appends: readonly AuditAppend[]): Promise<CommittedAudit[]> {
    if (!this.globalHead) {
      const heads = await this.sql.query<{ seq: bigint | number | string; hash: string }>(
        'SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1',
      );
      this.globalHead = { seq: BigInt(heads[0]?.seq ?? 0), hash: heads[0]?.hash ?? GENESIS_HASH };
    }
    const unknown = [
      ...new Set(
        appends.flatMap((a) => (a.session && !this.sessionHeads.has(a.session.id) ? [a.session.id] : [])),
      ),
    ];
    const heads = new Map<string, { seq: number; hash: string }>();
    if (unknown.length > 0) {
      const placeholders = unknown.map((_, i) => `$${i + 1}::uuid`).join(', ');
      const rows = await this.sql.query<{ session_id: string; seq: number; hash: string }>(
        `SELECT DISTINCT ON (session_id) session_id, seq, hash FROM session_events
          WHERE session_id IN (${placeholders}) ORDER BY session_id, seq DESC`,
        unknown,
      );
      for (const row of rows) heads.set(row.session_id, { seq: Number(row.seq), hash: row.hash });
    }
    const sessionHead = (id: string) =>
      heads.get(id) ?? this.sessionHeads.get(id) ?? { seq: 0, hash: GENESIS_HASH };

    let { seq, hash: prevHash } = this.globalHead;
    const auditRows: unknown[][] = [];
    const sessionRows: unknown[][] = [];
    const committed: CommittedAudit[] = [];
    const records: CommittedRecord[] = [];
    const closing: string[] = [];
    const at = new Date().toISOString();
    for (const append of appends) {
      let sessionSeq: number | undefined;
      let payload = append.payload ?? {};
      if (append.session) {
        const head = sessionHead(append.session.id);
        sessionSeq = head.seq + 1;
        const hash = linkHash(head.hash, append.session.id, sessionSeq, append.session.event);
        sessionRows.push([
          append.session.id,
          sessionSeq,
          append.session.kind,
          JSON.stringify(append.session.event),
          head.hash,
          hash,
          at,
        ]);
        heads.set(append.session.id, { seq: sessionSeq, hash });
        if (append.session.kind === 'session.close') closing.push(append.session.id);
        // The global record names the session record's position and hash, so a session chain
        // cut short at its tail is still caught by the global chain.
        payload = { ...payload, sessionId: append.session.id, sessionSeq, sessionHash: hash };
      }
      seq += 1n;
      const fields: HashedAuditFields = {
        at,
        subject: append.subject,
        actorChain: (append.actorChain ?? []).map((a) => ({ subject: a.subject })),
        action: append.action,
        target: append.target ?? null,
        decision: append.decision,
        reason: append.reason ?? null,
        payload,
      };
      const hash = auditEntryHash(seq, fields, prevHash);
      auditRows.push([
        seq.toString(),
        at,
        fields.subject,
        JSON.stringify(fields.actorChain),
        fields.action,
        fields.target,
        fields.decision,
        fields.reason,
        JSON.stringify(payload),
        prevHash,
        hash,
      ]);
      prevHash = hash;
      committed.push({ seq, hash, ...(sessionSeq !== undefined ? { sessionSeq } : {}) });
      records.push({ ...fields, seq: seq.toString(), prevHash: auditRows.at(-1)![9] as string, hash });
    }

    // One statement, so one round trip and one implicit transaction for the whole batch, with one
    // array parameter per column (a statement with thousands of parameters costs more to parse than
    // to run). No lock: the unique (seq) and (session_id, seq) keys make a concurrent writer's batch
    // fail instead of forking a chain, and commit() then retries from the heads in the store.
    const column = (rows: unknown[][], i: number) => rows.map((row) => row[i]);
    const params: unknown[] = [at, ...[0, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((i) => column(auditRows, i))];
    const auditInsert = `INSERT INTO audit_entries (seq, at, subject, actor_chain, action, target, decision, reason, payload, prev_hash, hash)
      SELECT u.seq, $1::timestamptz, u.subject, u.actor_chain, u.action, u.target, u.decision, u.reason, u.payload, u.prev_hash, u.hash
        FROM unnest($2::bigint[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::text[], $8::text[], $9::jsonb[], $10::text[], $11::text[])
          AS u(seq, subject, actor_chain, action, target, decision, reason, payload, prev_hash, hash)`;
    if (sessionRows.length === 0) {
      await this.sql.query(auditInsert, params);
    } else {
      params.push(...[0, 1, 2, 3, 4, 5].map((i) => column(sessionRows, i)));
      await this.sql.query(
        `WITH a AS (${auditInsert} RETURNING 1)
         INSERT INTO session_events (session_id, seq, kind, payload, prev_hash, hash, created_at)
           SELECT s.session_id, s.seq, s.kind, s.payload, s.prev_hash, s.hash, $1::timestamptz
             FROM unnest($12::uuid[], $13::int[], $14::text[], $15::jsonb[], $16::text[], $17::text[])
               AS s(session_id, seq, kind, payload, prev_hash, hash)`,
        params,
      );
    }
    this.globalHead = { seq, hash: prevHash };
    for (const [id, head] of heads) this.sessionHeads.set(id, head);
    for (const id of closing) this.sessionHeads.delete(id);
    if (this.sessionHeads.size > MAX_CACHED_SESSIONS) this.sessionHeads.clear();
    this.stats.batches += 1;
    this.stats.records += appends.length;
    try {
      this.onCommit?.(records);
    } catch {
      // A listener's failure (e.g. a webhook queue) never turns a durable commit into a refusal.
    }
    return committed;
  }
}

const MAX_CACHED_SESSIONS = 100_000;

function isUniqueViolation(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String((error as { code?: unknown }).code)}` : '';
  return /23505|unique constraint|P2002|duplicate key/i.test(text);
}
