import { Injectable } from '@nestjs/common';
import { ConflictError } from '../../../common/errors';
import { isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';
import { agentInclude, presentAgent, type AgentView } from '../agent.presenter';
import type { CreateAgentInput } from '../agent.schemas';

@Injectable()
export class CreateAgentUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(input: CreateAgentInput): Promise<AgentView> {
    try {
      const row = await this.store.prisma.agent.create({
        data: { name: input.name, description: input.description ?? null, labels: input.labels },
        include: agentInclude,
      });
      return presentAgent(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`an agent named "${input.name}" already exists`);
      throw error;
    }
  }
}
