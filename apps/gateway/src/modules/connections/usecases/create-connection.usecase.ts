import { Injectable } from '@nestjs/common';
import { ConflictError } from '../../../common/errors';
import { isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import type { CreateConnectionInput } from '../connection.schemas';
import { connectionInclude, presentConnection, type ConnectionView } from '../connection.presenter';
import { resolveAgentNames } from './resolve-agent-names';

@Injectable()
export class CreateConnectionUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly agents: AgentRegistry,
  ) {}

  async execute(input: CreateConnectionInput): Promise<ConnectionView> {
    try {
      const row = await this.store.prisma.$transaction(async (tx) => {
        const agentIds = await resolveAgentNames(tx, input.agents);
        return tx.connection.create({
          data: {
            name: input.name,
            protocol: input.protocol,
            description: input.description ?? null,
            tags: input.tags,
            target: input.target,
            credential: input.credential,
            agents: { create: agentIds.map((agentId) => ({ agentId })) },
          },
          include: connectionInclude,
        });
      });
      // Agents serving it get the new bundle at once (the push channel).
      this.agents.pushBundlesSoon();
      return presentConnection(row);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(`a connection named "${input.name}" already exists`);
      throw error;
    }
  }
}
