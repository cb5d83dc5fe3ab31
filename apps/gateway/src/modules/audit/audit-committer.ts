import { canonicalJson, GENESIS_HASH, linkHashOfCanonical } from '@tollgate/audit';
import type { SqlExecutor } from '@tollgate/store';
import { canonicalAuditFields, GLOBAL_AUDIT_CHAIN, type HashedAuditFields } from './audit-hash';

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
  /**
   * Also insert the session's row (state `opening`) in the same transaction: a session open is one
   * write (the decision, the row and the session.open event).
   */
  readonly sessionRow?: SessionRow;
  /** Also mark the session's row closed in the same transaction (with its session.close event). */
  readonly sessionEnd?: SessionEnd;
}

/** A `sessions` row's end, written with the batch that holds its append. */
export interface SessionEnd {
  readonly id: string;
  readonly reason: string;
  /** ISO time the session ended. */
  readonly endedAt: string;
  /** The agent that served it, written unless the row names one already (see markOpen). */
  readonly agentId?: string | null;
}

/** A new `sessions` row, written with the batch that holds its append. */
export interface SessionRow {
  readonly id: string;
  readonly connectionId: string;
  readonly connectionName: string;
  readonly protocol: string;
  readonly verb: string;
  readonly subject: string;
  readonly actorChain: readonly { readonly subject: string }[];
  readonly groups: readonly string[];
  readonly clientAddr: string;
  readonly policyVersion: number | null;
  readonly replicaId: string;
}

export interface AppendOptions {
  /**
   * The record is after the fact (e.g. a command's result): nobody waits on it before acting, so it
   * does not start a commit by itself. It takes its place in the queue at once (so the chains keep
   * the order of append calls), rides along with the next commit that something else starts, and
   * is committed on its own after `deferMs` if nothing does. The promise still resolves only once
   * the record is durable, and rejects if it is not.
   */
  readonly defer?: boolean;
}

export interface CommittedAudit {
  readonly seq: bigint;
  readonly hash: string;
  /** Position in the session's chain, for appends that named a session. */
  readonly sessionSeq?: number;
}

export interface AuditCommitterOptions {
  /** Most records per transaction. */
  readonly maxBatch?: number;
  /** A record not durable within this many milliseconds is reported as failed (fail closed). */
  readonly timeoutMs?: number;
  /** How long a deferred record waits for a commit to ride along with (default 5 ms). */
  readonly deferMs?: number;
  /** Called after each commit with the records it made durable (e.g. to feed webhooks). */
  readonly onCommit?: (records: readonly CommittedRecord[]) => void;
  /** How long a session's `open` state waits for a commit to ride along with (default 50 ms). */
  readonly openDeferMs?: number;
}

/** A session's row to mark open (served by `agentId`) with the next commit. */
interface Opening {
  /** [id, agent_id] as APPEND_SQL reads it. */
  readonly row: string;
  readonly resolve: () => void;
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
      // The store's error (its SQLSTATE) tells a record the store refuses from a store that is down.
      { cause },
    );
    this.name = 'AuditUnavailableError';
  }
}

interface Pending {
  readonly append: AuditAppend;
  readonly deferred: boolean;
  /** Times a batch holding this record was sent. */
  attempts: number;
  /**
   * Goes in a batch of its own: its last batch was refused for what one of its records holds (a
   * value the store refuses), so each of its records is tried alone and only the culprit fails.
   */
  solo: boolean;
  /** performance.now() after which the record is refused, committed or not. */
  readonly deadline: number;
  settled: boolean;
  readonly resolve: (committed: CommittedAudit) => void;
  readonly reject: (error: unknown) => void;
}

function fulfil(pending: Pending, committed: CommittedAudit): void {
  if (pending.settled) return;
  pending.settled = true;
  pending.resolve(committed);
}

function refuse(pending: Pending, error: unknown): void {
  if (pending.settled) return;
  pending.settled = true;
  pending.reject(error instanceof AuditUnavailableError ? error : new AuditUnavailableError(error));
}

interface Head {
  readonly seq: number;
  readonly hash: string;
}

/** Records already chained (hashed) and serialized as rows, in append order. */
interface Batch {
  /** One timestamp for the whole batch (it is hashed with every record). */
  readonly at: string;
  readonly atJson: string;
  readonly pendings: Pending[];
  readonly committed: CommittedAudit[];
  /** Rows as JSON array texts, columns in the order APPEND_SQL reads them. */
  readonly auditRows: string[];
  readonly sessionRows: string[];
  /** New `sessions` rows (see AuditAppend.sessionRow). */
  readonly newSessions: string[];
  /** Rows' ends (see AuditAppend.sessionEnd). */
  readonly endedSessions: string[];
  /** Rows marked open with this batch (see markOpen), taken when it is sent. */
  opens: Opening[];
  /** Per record: its session (if any) and that session's head after it, for head lookups. */
  readonly sessionIds: (string | undefined)[];
  readonly sessionHeads: (Head | undefined)[];
  readonly records: CommittedRecord[] | undefined;
  /** Holds a record that someone waits on (not deferred): send it as soon as the store is free. */
  urgent: boolean;
  /** Holds one record being tried alone (see Pending.solo): nothing joins it. */
  solo: boolean;
}

// One statement, so one round trip and one implicit transaction for the whole batch. Each table's
// rows travel as one jsonb array of arrays (parsed once, with no per-element escaping as in array
// literals, and no key names to parse and sort as with objects), and the statement is prepared
// once per connection. No lock: the unique (seq) and
// (session_id, seq) keys make a concurrent writer's batch fail instead of forking a chain, and the
// committer then retries from the heads in the store. Rows are inserted in array order, so row ids
// follow chain order.
// A session's row rides along ($4): its connection is looked up rather than cast, so a connection
// deleted meanwhile leaves the row without one instead of failing the batch on the foreign key.
// A session's end rides along too ($5); it is appended only after its row was committed by an
// earlier batch, so the update sees the row.
// Rows marked open ride along too ($6), after their insert committed; a row this batch also
// closes is left to the close (one statement must not update a row twice), which names the agent.
// Agents are looked up like connections: one deleted meanwhile leaves the row without one.
const APPEND_STATEMENT = 'tollgate_audit_append_v5';
const APPEND_SQL = `WITH e AS (
  UPDATE sessions SET state = 'closed', close_reason = r->>1, ended_at = (r->>2)::timestamptz,
         agent_id = COALESCE(sessions.agent_id, (SELECT a.id FROM agents a WHERE a.id = (r->>3)::uuid))
    FROM jsonb_array_elements($5::jsonb) AS t(r)
   WHERE sessions.id = (r->>0)::uuid
  RETURNING 1),
o AS (
  UPDATE sessions SET state = 'open', agent_id = (SELECT a.id FROM agents a WHERE a.id = (r->>1)::uuid)
    FROM jsonb_array_elements($6::jsonb) AS t(r)
   WHERE sessions.id = (r->>0)::uuid AND sessions.state = 'opening'
     AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements($5::jsonb) AS c(x) WHERE (c.x->>0)::uuid = sessions.id)
  RETURNING 1),
n AS (
  INSERT INTO sessions (id, connection_id, connection_name, protocol, verb, subject, actor_chain, groups,
                        client_addr, policy_version, state, replica_id, started_at)
  SELECT (r->>0)::uuid, (SELECT c.id FROM connections c WHERE c.id = (r->>1)::uuid), r->>2,
         (r->>3)::"Protocol", r->>4, r->>5, r->6, r->7, r->>8, (r->>9)::int, 'opening', r->>10, $1::timestamptz
    FROM jsonb_array_elements($4::jsonb) AS t(r)
  RETURNING 1),
a AS (
  INSERT INTO audit_entries (seq, at, subject, actor_chain, action, target, decision, reason, payload, prev_hash, hash)
  SELECT (r->>0)::bigint, $1::timestamptz, r->>1, r->2, r->>3, r->>4, r->>5, r->>6, r->7, r->>8, r->>9
    FROM jsonb_array_elements($2::jsonb) AS t(r)
  RETURNING 1)
INSERT INTO session_events (session_id, seq, kind, payload, prev_hash, hash, created_at)
SELECT (r->>0)::uuid, (r->>1)::int, r->>2, r->3, r->>4, r->>5, $1::timestamptz
  FROM jsonb_array_elements($3::jsonb) AS s(r)`;
const GLOBAL_HEAD_STATEMENT = 'tollgate_audit_global_head_v1';
const GLOBAL_HEAD_SQL = 'SELECT seq, hash FROM audit_entries ORDER BY seq DESC LIMIT 1';
const SESSION_HEADS_STATEMENT = 'tollgate_audit_session_heads_v1';
const SESSION_HEADS_SQL = `SELECT s.id AS session_id, e.seq, e.hash
  FROM unnest($1::uuid[]) AS s(id)
  CROSS JOIN LATERAL (SELECT seq, hash FROM session_events WHERE session_id = s.id ORDER BY seq DESC LIMIT 1) e`;

const MAX_CACHED_SESSIONS = 100_000;
const RECENTLY_CLOSED = 4_096;
const SESSION_OPEN = 'session.open';
const SESSION_CLOSE = 'session.close';
/** The deadline timer fires at most this often, however close together the deadlines are. */
const MIN_EXPIRY_INTERVAL_MS = 10;

/**
 * Group commit for the audit log. A record is chained (hashed) and serialized as soon as it is
 * appended, into the batch that will be sent next; while one transaction is in flight the next
 * batch fills up, and it is sent as soon as the previous one has committed (and its callers have
 * appended what they had ready). Under load a batch holds as many records as there are concurrent
 * sessions, so the cost per record is a fraction of a round trip and of an fsync. A batch is sent
 * only after the one before it committed, so a failure never leaves a gap: the records chained on
 * top of a failed batch are chained again from the heads in the store. A promise resolves only
 * after COMMIT, so the caller can forward the command it guards; it rejects with
 * AuditUnavailableError when the store fails or does not answer in time.
 */
export class AuditCommitter {
  /** Appended, not yet chained (waiting for heads from the store, or for room in the open batch). */
  private queue: Pending[] = [];
  /** Chained and serialized, to be sent when the store is free. */
  private open: Batch | undefined;
  private inFlight: Batch | undefined;
  private loading = false;
  private deferTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  /** A deferred record has waited `deferMs`: the open batch goes without waiting for company. */
  private deferDue = false;
  /**
   * The heads after everything chained so far (sent or not); reloaded from the store when unknown.
   * Only ever ahead of the store by the in-flight and open batches.
   */
  private globalHead: { seq: bigint; hash: string } | undefined;
  private readonly sessionHeads = new Map<string, Head>();
  /**
   * Heads of sessions closed lately (oldest first, at most RECENTLY_CLOSED): an agent ships a
   * session's last results after its close, and they would otherwise read the head from the store.
   */
  private readonly closedHeads = new Map<string, Head>();
  private readonly maxBatch: number;
  private readonly timeoutMs: number;
  private readonly deferMs: number;
  private readonly onCommit: ((records: readonly CommittedRecord[]) => void) | undefined;
  /** A batch committed and its callers are running: what they append goes into the next commit. */
  private holding = false;
  /** Rows to mark open with the next commit. */
  private opens: Opening[] = [];
  private openTimer: NodeJS.Timeout | undefined;
  /** A row marked open has waited `openDeferMs`: a commit goes, with records or without. */
  private opensDue = false;
  private readonly openDeferMs: number;
  /** Batches committed and records in them, for the benchmark and metrics. */
  readonly stats = { batches: 0, records: 0 };

  constructor(
    private readonly sql: SqlExecutor,
    options: AuditCommitterOptions = {},
  ) {
    this.maxBatch = options.maxBatch ?? 2000;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.deferMs = options.deferMs ?? 5;
    this.openDeferMs = options.openDeferMs ?? 50;
    this.onCommit = options.onCommit;
  }

  append(append: AuditAppend, options: AppendOptions = {}): Promise<CommittedAudit> {
    return new Promise<CommittedAudit>((resolve, reject) => {
      this.queue.push({
        append,
        deferred: options.defer === true,
        attempts: 0,
        solo: false,
        deadline: performance.now() + this.timeoutMs,
        settled: false,
        resolve,
        reject,
      });
      this.deadlineTimer ??= setTimeout(() => this.expire(), this.timeoutMs);
      this.pump();
    });
  }

  /**
   * Commits now whatever waits for company (deferred records, rows to mark open) and resolves once
   * nothing is queued, open or in flight, or after `timeoutMs` (the store may be down): at shutdown,
   * before the store closes, so a result or a close that rode along with a later commit is not
   * lost with the process.
   */
  async flush(timeoutMs = 5_000): Promise<void> {
    const until = performance.now() + timeoutMs;
    while (this.inFlight || this.open || this.queue.length > 0 || this.opens.length > 0) {
      if (performance.now() >= until) return;
      this.deferDue = true;
      this.opensDue = this.opens.length > 0;
      this.pump();
      await new Promise<void>((resolve) => setTimeout(resolve, 2));
    }
  }

  /**
   * Marks a session's row (committed already) open, served by `agentId`, with the next commit that
   * something else starts, or in a commit of its own after `openDeferMs`: a session open costs one
   * store write on its path instead of two. Resolves once the state is stored (a failed commit
   * keeps it for the next); nothing waits on it before relaying.
   */
  markOpen(id: string, agentId: string): Promise<void> {
    return new Promise<void>((resolve) => {
      this.opens.push({ row: JSON.stringify([id, agentId]), resolve });
      this.scheduleOpens();
    });
  }

  private scheduleOpens(): void {
    this.openTimer ??= setTimeout(() => {
      this.openTimer = undefined;
      this.opensDue = true;
      this.pump();
    }, this.openDeferMs);
  }

  /**
   * Refuses the records not durable by their deadline (they may still be committed later; the
   * action they guarded did not happen). One timer for all records, set for the oldest one, instead
   * of one per record.
   */
  private expire(): void {
    this.deadlineTimer = undefined;
    const now = performance.now();
    let next = Infinity;
    for (const pending of this.outstanding()) {
      if (pending.settled) continue;
      if (pending.deadline <= now) {
        refuse(pending, new Error(`no commit within ${this.timeoutMs} ms`));
      } else {
        next = Math.min(next, pending.deadline);
      }
    }
    if (next !== Infinity) {
      this.deadlineTimer = setTimeout(() => this.expire(), Math.max(next - now, MIN_EXPIRY_INTERVAL_MS));
    }
  }

  private *outstanding(): Iterable<Pending> {
    if (this.inFlight) yield* this.inFlight.pendings;
    if (this.open) yield* this.open.pendings;
    yield* this.queue;
  }

  /** Nothing is waiting any more: the deadline timer must not keep the process alive. */
  private idle(): void {
    if (this.deadlineTimer && !this.inFlight && !this.open && this.queue.length === 0) {
      clearTimeout(this.deadlineTimer);
      this.deadlineTimer = undefined;
    }
  }

  /** Chains queued records into the open batch (as far as heads are known), then sends if it can. */
  private pump(): void {
    let taken = 0;
    for (; taken < this.queue.length; taken++) {
      const pending = this.queue[taken];
      const session = pending.append.session;
      if (!this.globalHead) {
        this.loadHeads();
        break;
      }
      if (session && this.sessionHead(session.id) === undefined) {
        if (!startsChain(pending)) {
          this.loadHeads();
          break;
        }
        this.sessionHeads.set(session.id, genesis);
      }
      if (this.open && this.open.pendings.length >= this.maxBatch) break;
      if (this.open && this.open.pendings.length > 0 && (pending.solo || this.open.solo)) break;
      try {
        this.chain(pending);
      } catch (error) {
        // This record cannot be serialized (e.g. a bigint in its payload); the chain is untouched.
        refuse(pending, error);
      }
    }
    if (taken > 0) this.queue.splice(0, taken);
    this.send();
  }

  /** The session's head after everything chained so far, if known without asking the store. */
  private sessionHead(id: string): Head | undefined {
    return (
      this.sessionHeads.get(id) ??
      lastHead(this.open, id) ??
      lastHead(this.inFlight, id) ??
      this.closedHeads.get(id)
    );
  }

  /** Hashes one record onto both chains and adds its rows to the open batch. */
  private chain(pending: Pending): void {
    const append = pending.append;
    const batch = this.open ?? newBatch(this.onCommit !== undefined);
    const globalHead = this.globalHead!;
    let payload = append.payload ?? {};
    let sessionRow: string | undefined;
    let sessionHead: Head | undefined;
    const session = append.session;
    if (session) {
      const head = this.sessionHead(session.id)!;
      const seq = head.seq + 1;
      const event = canonicalJson(session.event);
      const hash = linkHashOfCanonical(head.hash, session.id, seq, event);
      sessionHead = { seq, hash };
      // [session_id, seq, kind, payload, prev_hash, hash]
      sessionRow = `[${JSON.stringify(session.id)},${seq},${JSON.stringify(session.kind)},${event},${JSON.stringify(head.hash)},"${hash}"]`;
      // The global record names the session record's position and hash, so a session chain cut
      // short at its tail is still caught by the global chain.
      payload = { ...payload, sessionId: session.id, sessionSeq: seq, sessionHash: hash };
    }
    const seq = globalHead.seq + 1n;
    const actorChain = append.actorChain?.length
      ? append.actorChain.map((a) => ({ subject: a.subject }))
      : NO_ACTORS;
    const fields = {
      at: batch.atJson,
      subject: canonicalScalar(append.subject),
      actorChain: actorChain.length === 0 ? '[]' : canonicalJson(actorChain),
      action: canonicalScalar(append.action),
      target: canonicalScalar(append.target ?? null),
      decision: canonicalScalar(append.decision),
      reason: canonicalScalar(append.reason ?? null),
      payload: canonicalJson(payload),
    };
    const hash = linkHashOfCanonical(
      globalHead.hash,
      GLOBAL_AUDIT_CHAIN,
      Number(seq),
      canonicalAuditFields(fields),
    );

    // Nothing above changed any state, so a record that cannot be serialized leaves no trace.
    // [seq, subject, actor_chain, action, target, decision, reason, payload, prev_hash, hash]
    batch.auditRows.push(
      `[${seq},${fields.subject},${fields.actorChain},${fields.action},${fields.target},${fields.decision},${fields.reason},${fields.payload},${JSON.stringify(globalHead.hash)},"${hash}"]`,
    );
    if (sessionRow !== undefined) batch.sessionRows.push(sessionRow);
    const end = append.sessionEnd;
    if (end) batch.endedSessions.push(JSON.stringify([end.id, end.reason, end.endedAt, end.agentId ?? null]));
    const row = append.sessionRow;
    if (row) {
      // [id, connection_id, connection_name, protocol, verb, subject, actor_chain, groups, client_addr,
      //  policy_version, replica_id]
      batch.newSessions.push(
        JSON.stringify([
          row.id,
          row.connectionId,
          row.connectionName,
          row.protocol,
          row.verb,
          row.subject,
          row.actorChain.map((a) => ({ subject: a.subject })),
          row.groups,
          row.clientAddr,
          row.policyVersion,
          row.replicaId,
        ]),
      );
    }
    batch.pendings.push(pending);
    batch.committed.push(sessionHead ? { seq, hash, sessionSeq: sessionHead.seq } : { seq, hash });
    batch.sessionIds.push(session?.id);
    batch.sessionHeads.push(sessionHead);
    batch.records?.push({
      at: batch.at,
      subject: append.subject,
      actorChain,
      action: append.action,
      target: append.target ?? null,
      decision: append.decision,
      reason: append.reason ?? null,
      payload,
      seq: seq.toString(),
      prevHash: globalHead.hash,
      hash,
    });
    if (!pending.deferred) batch.urgent = true;
    if (pending.solo) batch.solo = true;
    this.open = batch;
    this.globalHead = { seq, hash };
    if (session && sessionHead) {
      if (this.sessionHeads.size >= MAX_CACHED_SESSIONS) this.sessionHeads.clear();
      // A closed session's head moves to the few kept for sessions closed lately (its last
      // results, shipped after the close, chain on it without asking the store); past those, more
      // events find the head in a batch still unsent or in flight, or else in the store.
      if (session.kind === SESSION_CLOSE) {
        this.sessionHeads.delete(session.id);
        this.closedHeads.delete(session.id);
        this.closedHeads.set(session.id, sessionHead);
        if (this.closedHeads.size > RECENTLY_CLOSED) {
          this.closedHeads.delete(this.closedHeads.keys().next().value as string);
        }
      } else {
        this.closedHeads.delete(session.id);
        this.sessionHeads.set(session.id, sessionHead);
      }
    }
  }

  /** Sends the open batch if the store is free and the batch should go now. */
  private send(): void {
    if (this.inFlight || this.holding) return;
    const opensDue = this.opensDue && this.opens.length > 0;
    let batch = this.open;
    if (!batch) {
      if (!opensDue) return;
      batch = newBatch(false);
    } else if (!batch.urgent && !this.deferDue && !opensDue) {
      this.deferTimer ??= setTimeout(() => {
        this.deferTimer = undefined;
        this.deferDue = true;
        this.pump();
      }, this.deferMs);
      return;
    }
    this.open = undefined;
    this.deferDue = false;
    if (this.deferTimer) {
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
    }
    batch.opens = this.opens;
    this.opens = [];
    this.opensDue = false;
    if (this.openTimer) {
      clearTimeout(this.openTimer);
      this.openTimer = undefined;
    }
    this.inFlight = batch;
    for (const pending of batch.pendings) pending.attempts += 1;
    this.sql
      .query(
        APPEND_SQL,
        [
          batch.at,
          jsonArrayText(batch.auditRows),
          jsonArrayText(batch.sessionRows),
          jsonArrayText(batch.newSessions),
          jsonArrayText(batch.endedSessions),
          jsonArrayText(batch.opens.map((o) => o.row)),
        ],
        { name: APPEND_STATEMENT },
      )
      .then(
        () => this.committed(batch),
        (error: unknown) => this.failed(batch, error),
      );
  }

  private committed(batch: Batch): void {
    this.inFlight = undefined;
    this.stats.batches += 1;
    this.stats.records += batch.pendings.length;
    // The callers run first (their continuations are queued before this callback), so what they
    // append at once shares the next commit instead of splitting the sessions into two alternating
    // batches: sending the next batch before them would let the gateway hash while the store
    // works, but measured here (2 cores, one fsync per commit) twice the commits cost more than
    // that overlap saves.
    this.holding = true;
    batch.pendings.forEach((pending, i) => fulfil(pending, batch.committed[i]));
    for (const opening of batch.opens) opening.resolve();
    queueMicrotask(() => {
      this.holding = false;
      this.pump();
    });
    this.idle();
    if (batch.records && batch.records.length > 0) {
      try {
        this.onCommit?.(batch.records);
      } catch {
        // A listener's failure (e.g. a webhook queue) never turns a durable commit into a refusal.
      }
    }
  }

  /**
   * Nothing of the batch was stored (one statement, one transaction). The heads this committer
   * assumed are dropped, and the records chained on top of the batch go back to the queue, to be
   * chained again from the heads in the store. When another writer (a second gateway replica)
   * moved a chain on, the batch's own records are retried once too. When the store refused a value
   * one of several records holds (a data or constraint error), each is tried again alone, so only
   * the record that holds it is refused, not the unrelated records (another session's open, say)
   * that happened to share its commit. Otherwise they are refused.
   */
  private failed(batch: Batch, error: unknown): void {
    this.inFlight = undefined;
    if (batch.opens.length > 0) {
      // Marking a row open is idempotent: it goes again with the next commit.
      this.opens = [...batch.opens, ...this.opens];
      this.scheduleOpens();
    }
    this.globalHead = undefined;
    this.sessionHeads.clear();
    this.closedHeads.clear();
    const isolate = batch.pendings.length > 1 && isRecordRefusal(error);
    if (isolate) for (const pending of batch.pendings) pending.solo = true;
    const retry = isolate
      ? batch.pendings
      : isUniqueViolation(error)
        ? batch.pendings.filter((p) => p.attempts < 2)
        : [];
    const retrying = new Set(retry);
    const refused = batch.pendings.filter((p) => !retrying.has(p));
    const requeued = [...retry, ...(this.open?.pendings ?? [])];
    this.open = undefined;
    if (retry.length > 0) this.deferDue = true;
    if (requeued.length > 0) this.queue = [...requeued, ...this.queue];
    for (const pending of refused) refuse(pending, error);
    this.pump();
    this.idle();
  }

  /** Reads the heads the queued records need from the store, then chains them. */
  private loadHeads(): void {
    if (this.loading) return;
    this.loading = true;
    const needGlobal = !this.globalHead;
    const ids = [
      ...new Set(
        this.queue.flatMap((p) =>
          p.append.session && !startsChain(p) && this.sessionHead(p.append.session.id) === undefined
            ? [p.append.session.id]
            : [],
        ),
      ),
    ];
    const load = async () => {
      const global = needGlobal
        ? await this.sql.query<{ seq: bigint | number | string; hash: string }>(GLOBAL_HEAD_SQL, [], {
            name: GLOBAL_HEAD_STATEMENT,
          })
        : undefined;
      const sessions =
        ids.length > 0
          ? await this.sql.query<{ session_id: string; seq: number; hash: string }>(
              SESSION_HEADS_SQL,
              [ids],
              { name: SESSION_HEADS_STATEMENT },
            )
          : [];
      return { global, sessions };
    };
    load().then(
      ({ global, sessions }) => {
        this.loading = false;
        // A head read while a batch was in flight is still right: only sessions that no batch in
        // flight or unsent touches are read, and the global head is read only when nothing is.
        if (global && !this.globalHead) {
          this.globalHead = { seq: BigInt(global[0]?.seq ?? 0), hash: global[0]?.hash ?? GENESIS_HASH };
        }
        const found = new Map(sessions.map((row) => [row.session_id, row]));
        for (const id of ids) {
          if (this.sessionHead(id) !== undefined) continue;
          const row = found.get(id);
          this.sessionHeads.set(id, row ? { seq: Number(row.seq), hash: row.hash } : genesis);
        }
        this.pump();
      },
      (error: unknown) => {
        this.loading = false;
        const waiting = this.queue;
        this.queue = [];
        for (const pending of waiting) refuse(pending, error);
        this.idle();
      },
    );
  }
}

const genesis: Head = { seq: 0, hash: GENESIS_HASH };
const NO_ACTORS: readonly { readonly subject: string }[] = [];

/** canonicalJson for the string fields, without its general machinery when they are strings. */
function canonicalScalar(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : canonicalJson(value);
}

/**
 * A session's first event starts its chain: its head is the genesis, no need to ask the store.
 * Were the chain not new after all, the unique key refuses the batch, and on the retry the head
 * comes from the store.
 */
function startsChain(pending: Pending): boolean {
  return pending.append.session?.kind === SESSION_OPEN && pending.attempts === 0;
}

function newBatch(withRecords: boolean): Batch {
  const at = new Date().toISOString();
  return {
    at,
    atJson: JSON.stringify(at),
    pendings: [],
    committed: [],
    auditRows: [],
    sessionRows: [],
    newSessions: [],
    endedSessions: [],
    opens: [],
    sessionIds: [],
    sessionHeads: [],
    records: withRecords ? [] : undefined,
    urgent: false,
    solo: false,
  };
}

/** The session's head after `batch`, if the batch touches the session. */
function lastHead(batch: Batch | undefined, id: string): Head | undefined {
  if (!batch) return undefined;
  for (let i = batch.sessionIds.length - 1; i >= 0; i--) {
    if (batch.sessionIds[i] === id) return batch.sessionHeads[i];
  }
  return undefined;
}

/**
 * `[item,item,...]` as one flat string, made by one join. `[${items.join(',')}]` is a rope around
 * the joined text, which the driver flattens again to encode it: a second copy of what is hundreds
 * of kilobytes under load, each in memory of its own (page faults on every commit).
 */
export function jsonArrayText(items: readonly string[]): string {
  if (items.length === 0) return '[]';
  if (items.length === 1) return ['[', items[0], ']'].join('');
  const parts = items.slice();
  parts[0] = `[${parts[0]}`;
  parts[parts.length - 1] = `${parts[parts.length - 1]}]`;
  return parts.join(',');
}

/**
 * The store refused what a record holds (SQLSTATE class 22, data exception; 23, integrity
 * constraint, other than a unique key; 54, a value too large), not the transaction as such: a store
 * that is down or timed out gives other errors.
 */
/**
 * The store answered with a SQLSTATE about what the statement holds (a data error, a constraint, a
 * trigger's RAISE, a program limit), not about the store itself: the connection (08), its resources
 * (53: a full disk, out of memory), an operator (57: shutdown, cancel), the system (58, XX), a
 * transaction state (25: a read-only standby) or a conflict (40). A unique violation is the other
 * replica's move (retried as such).
 */
function isRecordRefusal(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return (
    typeof code === 'string' &&
    /^[0-9A-Z]{5}$/.test(code) &&
    !/^(08|25|40|53|57|58|XX)/.test(code) &&
    code !== '23505'
  );
}

function isUniqueViolation(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String((error as { code?: unknown }).code)}` : '';
  return /23505|unique constraint|P2002|duplicate key/i.test(text);
}
