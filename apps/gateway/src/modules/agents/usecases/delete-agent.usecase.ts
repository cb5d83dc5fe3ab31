import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { findAgentOrThrow } from './find-agent';

@Injectable()
export class DeleteAgentUseCase {
  constructor(private readonly store: StoreService) {}

  /** Deleting an agent unassigns it from its connections; the connections stay. */
  async execute(ref: string): Promise<void> {
    await this.store.prisma.$transaction(async (tx) => {
      const existing = await findAgentOrThrow(tx, ref);
      await tx.agent.delete({ where: { id: existing.id } });
    });
  }
}
