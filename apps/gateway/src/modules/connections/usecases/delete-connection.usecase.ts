import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import { findConnectionOrThrow } from './find-connection';

@Injectable()
export class DeleteConnectionUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly agents: AgentRegistry,
  ) {}

  async execute(ref: string): Promise<void> {
    await this.store.prisma.$transaction(async (tx) => {
      const existing = await findConnectionOrThrow(tx, ref);
      await tx.connection.delete({ where: { id: existing.id } });
    });
    // Agents serving it get a bundle without it (the push channel).
    this.agents.pushBundlesSoon();
  }
}
