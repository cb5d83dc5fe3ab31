import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { presentAgent, type AgentView } from '../agent.presenter';
import { findAgentOrThrow } from './find-agent';

@Injectable()
export class GetAgentUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(ref: string): Promise<AgentView> {
    return presentAgent(await findAgentOrThrow(this.store.prisma, ref));
  }
}
