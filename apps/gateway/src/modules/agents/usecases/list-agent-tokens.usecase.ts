import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { presentAgentToken, type AgentTokenView } from '../agent-token.presenter';
import { findAgentOrThrow } from './find-agent';

@Injectable()
export class ListAgentTokensUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(ref: string): Promise<{ items: AgentTokenView[] }> {
    const agent = await findAgentOrThrow(this.store.prisma, ref);
    const rows = await this.store.prisma.agentToken.findMany({
      where: { agentId: agent.id },
      orderBy: { createdAt: 'asc' },
    });
    return { items: rows.map((row) => presentAgentToken(row)) };
  }
}
