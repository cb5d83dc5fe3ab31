import { Injectable } from '@nestjs/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { AgentAuditTrail } from './agent-audit';
import type { AgentHolder, AgentInstanceInfo } from './agent-instance';
import { AgentPresence } from './agent-presence';
import { AgentRegistry } from './agent-registry';
import { GatewayReplica } from './gateway-replica';
import type { LiveAgent } from './live-agent';
import { RpcError } from './rpc-error';

export type Admission =
  { readonly admitted: true } | { readonly admitted: false; readonly holder: AgentHolder };

/**
 * One live instance per agent. A registering stream is admitted when no other instance of the
 * agent holds a live stream, on this replica (its registry is exact) or on any other (the presence
 * claim in the store: a live holder heartbeats within the liveness window). The same instance
 * reconnecting is admitted at once and replaces its old stream (a network blip can leave that one
 * half-open). Admissions of one agent are serialized on this replica, so two registering at once
 * cannot both pass the check.
 */
@Injectable()
export class AgentAdmission {
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly registry: AgentRegistry,
    private readonly presence: AgentPresence,
    private readonly trail: AgentAuditTrail,
    private readonly replica: GatewayReplica,
  ) {}

  /**
   * Admits `agent` or says who holds the agent. Once admitted (its registration durable in the
   * audit log), `beforeRouting` runs and the agent becomes routable. Rejects when the store or the
   * audit log cannot record the registration (the agent retries).
   */
  admit(agent: LiveAgent, beforeRouting: () => void): Promise<Admission> {
    const previous = this.queues.get(agent.agentId) ?? Promise.resolve();
    const admission = previous.then(
      () => this.admitNow(agent, beforeRouting),
      () => this.admitNow(agent, beforeRouting),
    );
    const tail = admission.catch(() => undefined);
    this.queues.set(agent.agentId, tail);
    void tail.then(() => {
      if (this.queues.get(agent.agentId) === tail) this.queues.delete(agent.agentId);
    });
    return admission;
  }

  private async admitNow(agent: LiveAgent, beforeRouting: () => void): Promise<Admission> {
    if (agent.isGone) throw new RpcError(GrpcStatus.CANCELLED, 'the stream ended before it was admitted');
    const instance: AgentInstanceInfo = agent.instance;
    const local = this.registry.get(agent.agentId);
    if (local && !local.isGone && local.instance.instanceId !== instance.instanceId) {
      return { admitted: false, holder: local.holder(this.replica.id) };
    }
    const claim = await this.presence.claim(
      agent.agentId,
      instance,
      agent.connectedAt,
      !local || local.isGone,
    );
    if (!claim.claimed) return { admitted: false, holder: claim.holder };
    try {
      await this.trail.registered(
        { agentId: agent.agentId, agentName: agent.name, tokenPrefix: agent.identity.tokenPrefix },
        instance,
      );
    } catch {
      await this.presence.offline(agent.agentId, agent.connectedAt);
      throw new RpcError(
        GrpcStatus.UNAVAILABLE,
        'the registration could not be recorded in the audit log; retry later',
      );
    }
    beforeRouting();
    this.registry.add(agent);
    return { admitted: true };
  }
}
