import { Injectable } from '@nestjs/common';
import { StoreService } from '../store/store.service';
import type { AgentHolder, AgentInstanceInfo } from './agent-instance';
import { GatewayReplica } from './gateway-replica';
import { TunnelLogger } from './tunnel-logger';

/**
 * How long an agent's stream counts as alive after its last heartbeat was recorded (heartbeats
 * every 5 s). The API shows the agent online within it, and another instance of the agent is
 * refused within it: a stream whose host died without closing it locks the agent out for at most
 * this long (plus one heartbeat interval).
 */
export const AGENT_LIVENESS_WINDOW_MS = 20_000;

export type PresenceClaim =
  { readonly claimed: true } | { readonly claimed: false; readonly holder: AgentHolder };

/**
 * Writes agent presence to the store: which replica holds the agent's control stream, for which
 * instance, seen when. It is shown by the API, read by other replicas, and it is what makes "one
 * live instance per agent" hold across replicas (see claim).
 */
@Injectable()
export class AgentPresence {
  constructor(
    private readonly store: StoreService,
    private readonly replica: GatewayReplica,
    private readonly logger: TunnelLogger,
  ) {}

  /**
   * Takes the agent's presence for `instance`, in one conditional UPDATE (so two replicas cannot
   * both win): it succeeds when nobody holds it, when the same instance holds it (a reconnect),
   * when the holder's heartbeats stopped more than the liveness window ago, or, with
   * `localHolderGone`, when the holder was a stream of this replica that is gone (this replica
   * knows its own streams exactly; the caller serializes admissions per agent). Otherwise it
   * reports the holder.
   */
  async claim(
    agentId: string,
    instance: AgentInstanceInfo,
    connectedAt: Date,
    localHolderGone: boolean,
  ): Promise<PresenceClaim> {
    const stale = new Date(connectedAt.getTime() - AGENT_LIVENESS_WINDOW_MS);
    const { count } = await this.store.prisma.agent.updateMany({
      where: {
        id: agentId,
        OR: [
          { connectedTo: null },
          { instanceId: instance.instanceId },
          { lastSeenAt: null },
          { lastSeenAt: { lt: stale } },
          ...(localHolderGone ? [{ connectedTo: this.replica.id }] : []),
          // The embedded store has one replica (its data directory is locked): presence recorded
          // under another replica id is left from an earlier run of this gateway, which ended
          // without clearing it (SIGKILL, power loss), and nobody holds that stream any more.
          ...(this.store.kind === 'pglite' ? [{ connectedTo: { not: this.replica.id } }] : []),
        ],
      },
      data: {
        connectedTo: this.replica.id,
        connectedAt,
        lastSeenAt: connectedAt,
        instanceId: instance.instanceId,
        address: instance.address,
        version: instance.version,
        hostname: instance.hostname,
      },
    });
    if (count === 1) return { claimed: true };
    const row = await this.store.prisma.agent.findUnique({ where: { id: agentId } });
    return {
      claimed: false,
      holder: {
        instanceId: row?.instanceId ?? null,
        hostname: row?.hostname ?? null,
        address: row?.address ?? null,
        version: row?.version ?? null,
        connectedAt: row?.connectedAt ?? null,
        lastSeenAt: row?.lastSeenAt ?? null,
        replica: row?.connectedTo ?? null,
      },
    };
  }

  /** A heartbeat: refreshes `lastSeenAt`, only while this stream still holds the presence. */
  seen(agentId: string, instanceId: string): void {
    this.quietly(
      this.store.prisma.agent.updateMany({
        where: { id: agentId, connectedTo: this.replica.id, instanceId },
        data: { lastSeenAt: new Date() },
      }),
    );
  }

  /** The agent acknowledged a bundle: it now enforces its connections and its policy version. */
  bundleApplied(agentId: string, version: string, policyVersion: number | undefined): void {
    this.quietly(
      this.store.prisma.agent.updateMany({
        where: { id: agentId },
        data: { bundleVersion: version, ...(policyVersion !== undefined ? { policyVersion } : {}) },
      }),
    );
  }

  /** Marks the agent offline unless a newer stream (here or on another replica) took over. */
  offline(agentId: string, connectedAt: Date): Promise<void> {
    return this.store.prisma.agent
      .updateMany({
        where: { id: agentId, connectedTo: this.replica.id, connectedAt },
        data: { connectedTo: null, lastSeenAt: new Date() },
      })
      .then(
        () => undefined,
        (error: unknown) => this.logger.log.warn({ err: error, agentId }, 'could not record agent offline'),
      );
  }

  private quietly(write: Promise<unknown>): void {
    write.catch((error: unknown) => this.logger.log.warn({ err: error }, 'could not record agent presence'));
  }
}
