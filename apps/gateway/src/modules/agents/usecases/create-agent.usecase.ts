import { Injectable } from '@nestjs/common';
import { ConflictError } from '../../../common/errors';
import { isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';
import { agentInclude, presentAgent, type AgentView } from '../agent.presenter';
import type { CreateAgentInput } from '../agent.schemas';
import { createAgentToken } from './issue-agent-token.usecase';

@Injectable()
export class CreateAgentUseCase {
  constructor(private readonly store: StoreService) {}

  /** Creates the agent and its first token; the token is in this response only. */
  async execute(input: CreateAgentInput): Promise<AgentView & { token: string }> {
    try {
      return await this.store.prisma.$transaction(async (tx) => {
        const row = await tx.agent.create({
          data: { name: input.name, description: input.description ?? null, labels: input.labels },
          include: agentInclude,
        });
        const issued = await createAgentToken(tx, row.id);
        return { ...presentAgent(row), token: issued.token };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`an agent named "${input.name}" already exists`);
      throw error;
    }
  }
}
