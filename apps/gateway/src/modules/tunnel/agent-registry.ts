import { Injectable } from '@nestjs/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CloseCode, ControlErrorCode } from '@tollgate/proto';
import type { LiveAgent } from './live-agent';

/**
 * The agents whose Control stream this replica holds. Presence in the store is for display and for
 * other replicas; routing uses this in-memory view, which is exact for this replica.
 */
@Injectable()
export class AgentRegistry {
  private readonly agents = new Map<string, LiveAgent>();

  /** Adds a newly registered agent; an older stream of the same agent is superseded. */
  add(agent: LiveAgent): void {
    const previous = this.agents.get(agent.agentId);
    this.agents.set(agent.agentId, agent);
    previous?.close(ControlErrorCode.SUPERSEDED, 'a newer control stream of this agent replaced this one');
  }

  remove(agent: LiveAgent): boolean {
    if (this.agents.get(agent.agentId) !== agent) return false;
    this.agents.delete(agent.agentId);
    return true;
  }

  get(agentId: string): LiveAgent | undefined {
    return this.agents.get(agentId);
  }

  all(): LiveAgent[] {
    return [...this.agents.values()];
  }

  byTokenHash(hash: string): LiveAgent | undefined {
    for (const agent of this.agents.values()) if (agent.identity.tokenHash === hash) return agent;
    return undefined;
  }

  /**
   * Online agents among `agentIds`, least busy first (ties in random order), so sessions spread over
   * every agent serving a connection.
   */
  onlineAmong(agentIds: readonly string[]): LiveAgent[] {
    return agentIds
      .map((id) => this.agents.get(id))
      .filter((agent): agent is LiveAgent => !!agent && !agent.isGone)
      .map((agent) => ({ agent, tie: Math.random() }))
      .sort((a, b) => a.agent.sessions.size - b.agent.sessions.size || a.tie - b.tie)
      .map(({ agent }) => agent);
  }

  /** Cuts every live stream that authenticated with one of these tokens (revocation). */
  cutTokens(tokenIds: readonly string[], reason: string): number {
    let cut = 0;
    for (const agent of this.all()) {
      if (!tokenIds.includes(agent.identity.tokenId)) continue;
      this.remove(agent);
      agent.close(ControlErrorCode.TOKEN_REVOKED, reason, GrpcStatus.UNAUTHENTICATED);
      cut++;
    }
    return cut;
  }

  /** Cuts an agent's streams (deleted agent). */
  cutAgent(agentId: string, reason: string): void {
    const agent = this.agents.get(agentId);
    if (!agent) return;
    this.remove(agent);
    agent.close(ControlErrorCode.TOKEN_REVOKED, reason, GrpcStatus.UNAUTHENTICATED);
  }

  /** Re-sends bundles whose content changed (after a connection was created, changed or deleted). */
  async pushBundles(): Promise<void> {
    await Promise.all(this.all().map((agent) => agent.pushBundle()));
  }

  /** Pushes changed bundles in the background; a failure is retried at the next heartbeat. */
  pushBundlesSoon(): void {
    this.pushBundles().catch(() => undefined);
  }

  /** Ends every agent stream and its sessions (their clients hear that the gateway is shutting down). */
  closeAll(reason: string): void {
    for (const agent of this.all()) {
      this.remove(agent);
      agent.close(ControlErrorCode.UNSPECIFIED, reason, GrpcStatus.UNAVAILABLE, CloseCode.SHUTDOWN);
    }
  }
}
