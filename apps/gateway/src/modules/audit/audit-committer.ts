import { linkHash, GENESIS_HASH } from '@tollgate/audit';
import type { PrismaClient } from '@tollgate/store';
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

// Serialises appends to the global chain across transactions and gateway replicas.
export const AUDIT_CHAIN_LOCK = 7_243_001;

/**
 * Group commit for the audit log. Appends queue up while a transaction is in flight; when it ends,
 * everything that arrived meanwhile is committed together in one transaction (one advisory lock,
 * one head read, one multi-row insert per table). Under load a batch holds as many records as
 * there are concurrent sessions, so the cost per record is a fraction of a round trip. A promise
 * resolves only after COMMIT, so the caller can forward the command it guards; it rejects with
 * AuditUnavailableError when the store fails or does not answer in time.
 */
export class AuditCommitter {
  private readonly queue: Pending[] = [];
  private committing = false;
  private readonly maxBatch: number;
  private readonly timeoutMs: number;
  /** Batches committed and records in them, for the benchmark and metrics. */
  readonly stats = { batches: 0, records: 0 };

  constructor(
    private readonly prisma: PrismaClient,
    options: AuditCommitterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
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
    const results = await this.prisma.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
        const heads = await tx.$queryRawUnsafe<{ seq: bigint | number | string; hash: string }[]>(
          'SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1',
        );
        let seq = BigInt(heads[0]?.seq ?? 0);
        let prevHash = heads[0]?.hash ?? GENESIS_HASH;

        const sessionIds = [...new Set(appends.flatMap((a) => (a.session ? [a.session.id] : [])))];
        const sessionHeads = new Map<string, { seq: number; hash: string }>();
        if (sessionIds.length > 0) {
          const placeholders = sessionIds.map((_, i) => `$${i + 1}::uuid`).join(', ');
          const rows = await tx.$queryRawUnsafe<{ session_id: string; seq: number; hash: string }[]>(
            `SELECT DISTINCT ON (session_id) session_id, seq, hash FROM session_events
              WHERE session_id IN (${placeholders}) ORDER BY session_id, seq DESC`,
            ...sessionIds,
          );
          for (const row of rows) sessionHeads.set(row.session_id, { seq: Number(row.seq), hash: row.hash });
        }

        const auditRows: unknown[][] = [];
        const sessionRows: unknown[][] = [];
        const committed: CommittedAudit[] = [];
        const at = new Date().toISOString();
        for (const append of appends) {
          let sessionSeq: number | undefined;
          let payload = append.payload ?? {};
          if (append.session) {
            const head = sessionHeads.get(append.session.id) ?? { seq: 0, hash: GENESIS_HASH };
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
            sessionHeads.set(append.session.id, { seq: sessionSeq, hash });
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
        }

        await insertRows(
          tx,
          'audit_entries',
          [
            'seq',
            'at',
            'subject',
            'actor_chain',
            'action',
            'target',
            'decision',
            'reason',
            'payload',
            'prev_hash',
            'hash',
          ],
          ['bigint', 'timestamptz', 'text', 'jsonb', 'text', 'text', 'text', 'text', 'jsonb', 'text', 'text'],
          auditRows,
        );
        if (sessionRows.length > 0) {
          await insertRows(
            tx,
            'session_events',
            ['session_id', 'seq', 'kind', 'payload', 'prev_hash', 'hash', 'created_at'],
            ['uuid', 'int', 'text', 'jsonb', 'text', 'text', 'timestamptz'],
            sessionRows,
          );
        }
        return committed;
      },
      { timeout: this.timeoutMs, maxWait: this.timeoutMs },
    );
    this.stats.batches += 1;
    this.stats.records += appends.length;
    return results;
  }
}

type RawExecutor = Pick<PrismaClient, '$executeRawUnsafe'>;

/** One multi-row INSERT with bind parameters (never string-built values). */
async function insertRows(
  tx: RawExecutor,
  table: string,
  columns: readonly string[],
  types: readonly string[],
  rows: readonly unknown[][],
): Promise<void> {
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const cells = row.map((value, i) => {
      params.push(value);
      return `$${params.length}::${types[i]}`;
    });
    return `(${cells.join(', ')})`;
  });
  await tx.$executeRawUnsafe(
    `INSERT INTO ${table} (${columns.join(', ')}) VALUES ${tuples.join(', ')}`,
    ...params,
  );
}
