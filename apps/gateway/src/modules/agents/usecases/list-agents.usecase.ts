import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { agentInclude, presentAgent, type AgentView } from '../agent.presenter';

@Injectable()
export class ListAgentsUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(): Promise<{ items: AgentView[] }> {
    const rows = await this.store.prisma.agent.findMany({ include: agentInclude, orderBy: { name: 'asc' } });
    const now = Date.now();
    return { items: rows.map((row) => presentAgent(row, now)) };
  }
}
