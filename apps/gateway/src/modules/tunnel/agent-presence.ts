import { Injectable } from '@nestjs/common';
import { StoreService } from '../store/store.service';
import { GatewayReplica } from './gateway-replica';
import { TunnelLogger } from './tunnel-logger';

/** Writes agent presence to the store (shown by the API; read by other replicas). */
@Injectable()
export class AgentPresence {
  constructor(
    private readonly store: StoreService,
    private readonly replica: GatewayReplica,
    private readonly logger: TunnelLogger,
  ) {}

  async online(agentId: string, connectedAt: Date, version: string, hostname: string): Promise<void> {
    await this.store.prisma.agent.update({
      where: { id: agentId },
      data: { connectedTo: this.replica.id, connectedAt, lastSeenAt: connectedAt, version, hostname },
    });
  }

  seen(agentId: string): void {
    this.quietly(
      this.store.prisma.agent.updateMany({ where: { id: agentId }, data: { lastSeenAt: new Date() } }),
    );
  }

  bundleApplied(agentId: string, version: string): void {
    this.quietly(
      this.store.prisma.agent.updateMany({ where: { id: agentId }, data: { bundleVersion: version } }),
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
