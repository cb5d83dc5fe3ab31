import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import { AgentTokenAudit, type TokenActor } from '../agent-token-audit';
import { findAgentOrThrow } from './find-agent';

@Injectable()
export class DeleteAgentUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly registry: AgentRegistry,
    private readonly audit: AgentTokenAudit,
  ) {}

  /**
   * Deleting an agent unassigns it from its connections (the connections stay) and takes its
   * tokens with it: its live streams are cut, and the tokens that were still usable are recorded
   * as revoked.
   */
  async execute(ref: string, by: TokenActor): Promise<void> {
    const { agent, live } = await this.store.prisma.$transaction(async (tx) => {
      const existing = await findAgentOrThrow(tx, ref);
      const live = await tx.agentToken.findMany({
        where: { agentId: existing.id, revokedAt: null },
        select: { prefix: true },
      });
      await tx.agent.delete({ where: { id: existing.id } });
      return { agent: { id: existing.id, name: existing.name }, live };
    });
    this.registry.cutAgent(agent.id, 'agent deleted');
    await this.audit.revoked(
      by,
      agent,
      live.map((t) => t.prefix),
      'the agent was deleted',
    );
  }
}
