import { Injectable } from '@nestjs/common';
import { AuditWriter, type AuditRecord } from '../audit/audit-writer';
import type { AgentHolder, AgentInstanceInfo } from './agent-instance';
import { AuditThrottle } from './audit-throttle';
import { GatewayReplica } from './gateway-replica';
import { TunnelLogger } from './tunnel-logger';

/** An agent as its records name it. */
export interface AuditedAgent {
  readonly agentId: string;
  readonly agentName: string;
  readonly tokenPrefix: string;
}

/** Repeats of one refusal (same agent instance, or same token from the same address) per record. */
const REFUSAL_WINDOW_MS = 60_000;

/**
 * The audit records of agents' streams: registrations, refused logins, a second instance refused
 * while another holds the agent's stream, and attaches to sessions not offered to the attaching
 * instance. Refusals are not gated on their record (the refusal stands either way) and repeats
 * are throttled (AuditThrottle); a registration is (fail closed: an agent whose stream cannot be
 * recorded is not admitted).
 */
@Injectable()
export class AgentAuditTrail {
  private readonly logins = new AuditThrottle(REFUSAL_WINDOW_MS);
  private readonly conflicts = new AuditThrottle(REFUSAL_WINDOW_MS);

  constructor(
    private readonly audit: AuditWriter,
    private readonly replica: GatewayReplica,
    private readonly logger: TunnelLogger,
  ) {}

  /** An agent's control stream was accepted. Resolves once durable; rejects if it cannot be. */
  async registered(agent: AuditedAgent, instance: AgentInstanceInfo): Promise<void> {
    await this.audit.record({
      subject: subjectOf(agent.agentName),
      action: 'agent:register',
      target: subjectOf(agent.agentName),
      decision: 'allow',
      reason: `agent "${agent.agentName}" connected from ${instance.hostname} (${instance.address}), version ${instance.version}`,
      payload: {
        agentId: agent.agentId,
        tokenPrefix: agent.tokenPrefix,
        ...instance,
        replica: this.replica.id,
      },
    });
  }

  /** A token was refused on an agent RPC: unknown, expired or revoked (never the token itself). */
  loginRefused(refusal: {
    readonly reason: string;
    readonly tokenPrefix?: string;
    readonly address: string;
    readonly agentName?: string;
    readonly stream: 'control' | 'session';
  }): void {
    const key = `${refusal.reason}|${refusal.tokenPrefix ?? '-'}|${hostOf(refusal.address)}`;
    const { record, suppressed } = this.logins.admit(key, Date.now());
    if (!record) return;
    this.quietly({
      subject: refusal.agentName ? subjectOf(refusal.agentName) : 'anonymous',
      action: 'agent:login',
      target: refusal.agentName ? subjectOf(refusal.agentName) : `agent-token:${refusal.tokenPrefix ?? '-'}`,
      decision: 'deny',
      reason: refusal.reason,
      payload: {
        tokenPrefix: refusal.tokenPrefix ?? null,
        address: refusal.address,
        stream: refusal.stream,
        ...(suppressed > 0 ? { repeatsSinceLastRecord: suppressed } : {}),
      },
    });
  }

  /** A second instance of an agent was refused while `holder` holds its control stream. */
  conflict(agent: AuditedAgent, holder: AgentHolder, contender: AgentInstanceInfo): void {
    const key = `${agent.agentId}|${contender.instanceId}|${holder.instanceId ?? '-'}`;
    const { record, suppressed } = this.conflicts.admit(key, Date.now());
    if (!record) return;
    this.quietly({
      subject: subjectOf(agent.agentName),
      action: 'agent:conflict',
      target: subjectOf(agent.agentName),
      decision: 'deny',
      reason:
        `a second instance of agent "${agent.agentName}" on ${contender.hostname} (${contender.address}) was refused: ` +
        `instance ${holder.instanceId ?? '?'} on ${holder.hostname ?? '?'} (${holder.address ?? '?'}) holds its stream`,
      payload: {
        agentId: agent.agentId,
        tokenPrefix: agent.tokenPrefix,
        holder: {
          instanceId: holder.instanceId,
          hostname: holder.hostname,
          address: holder.address,
          version: holder.version,
          connectedAt: holder.connectedAt?.toISOString() ?? null,
          lastSeenAt: holder.lastSeenAt?.toISOString() ?? null,
          replica: holder.replica,
        },
        contender: { ...contender, replica: this.replica.id },
        ...(suppressed > 0 ? { repeatsSinceLastRecord: suppressed } : {}),
      },
    });
  }

  /** An agent instance tried to attach to a session that was not offered to it. */
  attachRefused(
    agent: AuditedAgent,
    attempt: {
      readonly sessionId: string;
      readonly reason: string;
      readonly address: string;
      readonly instanceId: string | null;
      /** The agent the session was offered to (or is served by), when it is another agent. */
      readonly offeredTo?: string;
    },
  ): void {
    this.quietly({
      subject: subjectOf(agent.agentName),
      action: 'agent:attach',
      target: `session:${attempt.sessionId}`,
      decision: 'deny',
      reason: attempt.reason,
      payload: {
        agentId: agent.agentId,
        tokenPrefix: agent.tokenPrefix,
        address: attempt.address,
        instanceId: attempt.instanceId,
        ...(attempt.offeredTo ? { offeredTo: attempt.offeredTo } : {}),
      },
    });
  }

  private quietly(record: AuditRecord): void {
    this.audit
      .record(record)
      .catch((error: unknown) =>
        this.logger.log.warn({ err: error, action: record.action }, 'could not record an agent refusal'),
      );
  }
}

function subjectOf(agentName: string): string {
  return `agent:${agentName}`;
}

/** The address without its port: refusals from one host count together. */
function hostOf(address: string): string {
  return address.replace(/:\d+$/, '');
}
