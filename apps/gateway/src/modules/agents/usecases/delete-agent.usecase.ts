import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import { findAgentOrThrow } from './find-agent';

@Injectable()
export class DeleteAgentUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly registry: AgentRegistry,
  ) {}

  /** Deleting an agent unassigns it from its connections; the connections stay. */
  async execute(ref: string): Promise<void> {
    const id = await this.store.prisma.$transaction(async (tx) => {
      const existing = await findAgentOrThrow(tx, ref);
      await tx.agent.delete({ where: { id: existing.id } });
      return existing.id;
    });
    this.registry.cutAgent(id, 'agent deleted');
  }
}
