import { Injectable } from '@nestjs/common';
import type { Prisma } from '@tollgate/store';
import { ConflictError } from '../../../common/errors';
import { isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';
import { agentInclude, presentAgent, type AgentView } from '../agent.presenter';
import type { UpdateAgentInput } from '../agent.schemas';
import { findAgentOrThrow } from './find-agent';

@Injectable()
export class UpdateAgentUseCase {
  constructor(private readonly store: StoreService) {}

  async execute(ref: string, input: UpdateAgentInput): Promise<AgentView> {
    try {
      const row = await this.store.prisma.$transaction(async (tx) => {
        const existing = await findAgentOrThrow(tx, ref);
        const data: Prisma.AgentUpdateInput = {};
        if (input.name !== undefined) data.name = input.name;
        if (input.description !== undefined) data.description = input.description;
        if (input.labels !== undefined) data.labels = input.labels;
        return tx.agent.update({ where: { id: existing.id }, data, include: agentInclude });
      });
      return presentAgent(row);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`an agent named "${input.name}" already exists`);
      throw error;
    }
  }
}
