import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { SessionCloseReason } from '@tollgate/audit';
import { AuditWriter, type AuditRecord } from '../audit/audit-writer';
import { SessionAuditService, type SessionAuditContext } from '../audit/session-audit.service';
import type { Principal } from '../identity/principal';
import { StoreService } from '../store/store.service';
import { GatewayReplica } from './gateway-replica';
import { JournalProgress } from './journal-progress';
import { NORMAL_CLOSE } from './session-relay';
import { TunnelLogger } from './tunnel-logger';

export interface NewSession {
  readonly id: string;
  readonly connectionId: string;
  readonly connectionName: string;
  readonly protocol: 'postgres' | 'mysql' | 'ssh' | 'kubernetes' | 'http' | 'tcp';
  /** What the session was authorized for. */
  readonly verb: 'connect' | 'exec';
  readonly principal: Principal;
  readonly clientAddr: string;
  readonly policyVersion: number | null;
  /** The limits the access decision set, recorded in the session.open event. */
  readonly limits?: { readonly maxDurationSeconds: number; readonly readOnly: boolean };
}

// A row closed without its event, over the raw driver (Prisma costs about half a millisecond per
// query); it names the agent unless the row does already (its `open` state may not be written yet).
const SESSION_CLOSED_STATEMENT = 'tollgate_session_closed_v2';
const SESSION_CLOSED_SQL = `UPDATE sessions SET state = 'closed', close_reason = $2, ended_at = $3::timestamptz,
    agent_id = COALESCE(agent_id, (SELECT a.id FROM agents a WHERE a.id = $4::uuid))
  WHERE id = $1::uuid`;

/** Closed sessions whose audit context is kept for journal records that come after the close. */
const MAX_CLOSED_CONTEXTS = 10_000;

/**
 * Longest a session's close waits for the journal records its agent shipped for it to be stored
 * (see `journaled`); past it the close is recorded anyway, ahead of those still on their way.
 */
export const CLOSE_AFTER_JOURNAL_MS = 5_000;

/**
 * The session's row: opening → open → closed, with the reason it ended; and its audit events
 * (session.open before the agent is asked to reach the target, session.close at the end).
 */
@Injectable()
export class SessionRecords implements OnModuleDestroy {
  constructor(
    private readonly store: StoreService,
    private readonly logger: TunnelLogger,
    private readonly audit: SessionAuditService,
    private readonly writer: AuditWriter,
    private readonly replica: GatewayReplica,
    private readonly progress: JournalProgress,
  ) {}

  /**
   * Set as the gateway begins to stop: from then on every close starts its commit at once (a
   * deferred one could find the store closed before its turn came).
   */
  private stopping = false;

  onModuleDestroy(): void {
    this.stopping = true;
  }

  /** Insert in flight per session; later updates queue behind it. */
  private readonly inserts = new Map<string, Promise<unknown>>();
  /** Live sessions' audit context. */
  private readonly contexts = new Map<string, SessionAuditContext>();
  /**
   * The audit context of sessions this replica closed lately: their agent ships the last journal
   * records after the close as often as not (a short session's records travel in the next batch),
   * and linking them must not cost a store read of the row each time. What it holds was recorded
   * at the open and never changes; the oldest go first.
   */
  private readonly closedContexts = new Map<string, SessionAuditContext>();
  /**
   * Which agent serves (or served) each session this replica opened, known at once (the row's
   * agent_id is written after the fact): an agent's shipped journal records are checked against it.
   */
  private readonly servedBy = new Map<string, string>();
  /** Where each live session's events end in its agent's journal (JournalPosition), once told. */
  private readonly journalEnds = new Map<string, { readonly chain: string; readonly seq: number }>();

  /**
   * Writes the access decision that allowed the session, the session's row and its durable
   * session.open event, in one transaction (one commit of the audit committer). Rejects
   * (AuditUnavailableError) when they cannot be recorded: the session must then not reach its
   * target.
   */
  async opening(session: NewSession, decision: AuditRecord): Promise<void> {
    const actorChain = session.principal.actorChain.map((actor) => ({ subject: actor.subject }));
    const context: SessionAuditContext = {
      sessionId: session.id,
      subject: session.principal.subject,
      actorChain,
      connection: { name: session.connectionName, protocol: session.protocol },
      policyVersion: session.policyVersion,
    };
    // The decision waits for the open event (it is appended first, so it comes first in the chain)
    // and both go in the same commit.
    const decided = this.writer.append(decision, { defer: true });
    const opened = this.audit.opened(
      context,
      {
        verb: session.verb,
        source: session.clientAddr,
        ...(session.limits ? { limits: session.limits } : {}),
      },
      {
        id: session.id,
        connectionId: session.connectionId,
        connectionName: session.connectionName,
        protocol: session.protocol,
        verb: session.verb,
        subject: session.principal.subject,
        actorChain,
        groups: [...session.principal.groups],
        clientAddr: session.clientAddr,
        policyVersion: session.policyVersion,
        // Survivors close it as lost if this replica stops (see ReplicaHeartbeat).
        replicaId: this.replica.id,
      },
    );
    this.inserts.set(session.id, opened);
    this.quietly(opened);
    this.quietly(decided);
    await Promise.all([decided, opened]);
    this.contexts.set(session.id, context);
  }

  /** Records a decision that opens no session (a denial, or no agent to take it). */
  async decided(decision: AuditRecord): Promise<boolean> {
    return this.writer.record(decision).then(
      () => true,
      () => false,
    );
  }

  /** A live session's audit context (undefined once closed, or if its open was not recorded). */
  context(id: string): SessionAuditContext | undefined {
    return this.contexts.get(id);
  }

  /**
   * The audit context a session this replica opened was recorded with, live or closed lately
   * (for its agent's journal records, which may arrive after the close).
   */
  recordedContext(id: string): SessionAuditContext | undefined {
    return this.contexts.get(id) ?? this.closedContexts.get(id);
  }

  /** The agent a session this replica opened was served by, if it remembers. */
  agentOf(id: string): string | undefined {
    return this.servedBy.get(id);
  }

  /**
   * The agent reached the target: the row says `open`, and which agent serves it, with the audit
   * log's next commit (within 50 ms), not in a store write of its own on the open's path. The row's
   * insert committed before the session was offered to an agent; a close that comes first names the
   * agent itself, and the later `open` leaves a closed row alone.
   */
  opened(id: string, agentId: string): void {
    if (this.servedBy.size >= 100_000) this.servedBy.clear();
    this.servedBy.set(id, agentId);
    this.quietly(this.writer.markOpen(id, agentId));
  }

  /** A client's cancel for the session's running statement, on its chain (after the open's insert). */
  cancelled(id: string, source: string): void {
    const context = this.contexts.get(id);
    if (!context) return;
    this.after(id, async () => {
      try {
        await this.audit.cancelled(context, source);
      } catch (error) {
        this.logger.log.warn({ err: error, sessionId: id }, 'could not record the session cancel event');
      }
    });
  }

  /**
   * The agent's last word on a session in the edge audit mode: its events are in the agent's
   * journal up to `seq` of `chain`. The session's close is recorded after they are stored.
   */
  journaled(id: string, position: { readonly chain: string; readonly seq: number }): void {
    if (position.seq >= 1 && this.contexts.has(id))
      this.journalEnds.set(id, { chain: position.chain, seq: position.seq });
  }

  closed(id: string, reason: string): void {
    const endedAt = new Date().toISOString();
    const journalEnd = this.journalEnds.get(id);
    this.journalEnds.delete(id);
    const context = this.contexts.get(id);
    this.contexts.delete(id);
    if (context) {
      if (this.closedContexts.size >= MAX_CLOSED_CONTEXTS) {
        const oldest = this.closedContexts.keys().next();
        if (!oldest.done) this.closedContexts.delete(oldest.value);
      }
      this.closedContexts.set(id, context);
    }
    const end = { id, reason: reason.slice(0, 500), endedAt, agentId: this.servedBy.get(id) ?? null };
    // After the row's insert. The row says closed in the
    // session.close event's own transaction, so whoever sees the state finds the event; a session
    // whose event was not recorded (or that has none) is closed on its own. Nothing waits on the
    // close of a session that ended normally: its event rides along with the audit log's next
    // commit (the next open's, a journal batch's) or goes alone after the committer's defer
    // delay (5 ms), instead of a commit of its own per session. Any other end (killed, lost,
    // expired...), and every end once the gateway is stopping, starts its commit at once.
    const defer = reason === NORMAL_CLOSE && !this.stopping;
    const agentId = end.agentId;
    this.after(id, async () => {
      // The records the agent journaled for the session first (they are shipped a little after the
      // session ends), so its chain has the close last.
      if (context && journalEnd && agentId && !this.stopping) {
        await this.progress.whenStored(agentId, journalEnd.chain, journalEnd.seq, CLOSE_AFTER_JOURNAL_MS);
      }
      if (context) {
        try {
          return await this.audit.closed(context, closeReason(reason), reason, end, { defer });
        } catch (error) {
          this.logger.log.warn({ err: error, sessionId: id }, 'could not record the session close event');
        }
      }
      return this.store.sql.query(SESSION_CLOSED_SQL, [id, end.reason, endedAt, end.agentId], {
        name: SESSION_CLOSED_STATEMENT,
      });
    });
    this.inserts.delete(id);
  }

  private after(id: string, update: () => Promise<unknown>): void {
    const previous = this.inserts.get(id) ?? Promise.resolve();
    const next = previous.then(update, () => undefined);
    this.inserts.set(id, next);
    this.quietly(next);
  }

  private quietly(write: Promise<unknown>): void {
    write.catch((error: unknown) => this.logger.log.warn({ err: error }, 'could not record session state'));
  }
}

function closeReason(reason: string): SessionCloseReason {
  if (reason === NORMAL_CLOSE) return 'normal';
  if (reason.startsWith('lost: ')) return 'lost';
  if (reason.startsWith('killed by ') || /^policy version \S+ no longer allows/.test(reason)) return 'killed';
  if (reason.startsWith('the session reached its maximum duration')) return 'expired';
  if (/agent/i.test(reason)) return 'agent-lost';
  if (/unreachable|error|failed/i.test(reason)) return 'error';
  if (/target/i.test(reason)) return 'target';
  return 'client';
}
