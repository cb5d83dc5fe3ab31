import { Injectable } from '@nestjs/common';
import type { SessionCloseReason } from '@tollgate/audit';
import { SessionAuditService, type SessionAuditContext } from '../audit/session-audit.service';
import type { Principal } from '../identity/principal';
import { StoreService } from '../store/store.service';
import { GatewayReplica } from './gateway-replica';
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

/**
 * The session's row: opening → open → closed, with the reason it ended; and its audit events
 * (session.open before the agent is asked to reach the target, session.close at the end).
 */
@Injectable()
export class SessionRecords {
  constructor(
    private readonly store: StoreService,
    private readonly logger: TunnelLogger,
    private readonly audit: SessionAuditService,
    private readonly replica: GatewayReplica,
  ) {}

  /** Insert in flight per session; later updates queue behind it. */
  private readonly inserts = new Map<string, Promise<unknown>>();
  /** Live sessions' audit context. */
  private readonly contexts = new Map<string, SessionAuditContext>();

  /**
   * Writes the row and the durable session.open event. Rejects (AuditUnavailableError or a store
   * error) when either cannot be recorded: the session must then not reach its target.
   */
  async opening(session: NewSession): Promise<void> {
    const insert = this.store.prisma.session.create({
      data: {
        id: session.id,
        connectionId: session.connectionId,
        connectionName: session.connectionName,
        protocol: session.protocol,
        verb: session.verb,
        subject: session.principal.subject,
        actorChain: session.principal.actorChain.map((actor) => ({ subject: actor.subject })),
        groups: [...session.principal.groups],
        clientAddr: session.clientAddr,
        policyVersion: session.policyVersion,
        state: 'opening',
        // Survivors close it as lost if this replica stops (see ReplicaHeartbeat).
        replicaId: this.replica.id,
      },
    });
    this.inserts.set(session.id, insert);
    this.quietly(insert);
    await insert;
    const context: SessionAuditContext = {
      sessionId: session.id,
      subject: session.principal.subject,
      actorChain: session.principal.actorChain.map((actor) => ({ subject: actor.subject })),
      connection: { name: session.connectionName, protocol: session.protocol },
      policyVersion: session.policyVersion,
    };
    await this.audit.opened(context, {
      verb: session.verb,
      source: session.clientAddr,
      ...(session.limits ? { limits: session.limits } : {}),
    });
    this.contexts.set(session.id, context);
  }

  /** A live session's audit context (undefined once closed, or if its open was not recorded). */
  context(id: string): SessionAuditContext | undefined {
    return this.contexts.get(id);
  }

  opened(id: string, agentId: string): void {
    this.after(id, () =>
      this.store.prisma.session.update({ where: { id }, data: { state: 'open', agentId } }),
    );
  }

  closed(id: string, reason: string): void {
    this.after(id, () =>
      this.store.prisma.session.update({
        where: { id },
        data: { state: 'closed', closeReason: reason.slice(0, 500), endedAt: new Date() },
      }),
    );
    this.inserts.delete(id);
    const context = this.contexts.get(id);
    if (!context) return;
    this.contexts.delete(id);
    this.quietly(this.audit.closed(context, closeReason(reason), reason));
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
