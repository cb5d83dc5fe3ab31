import { Injectable } from '@nestjs/common';
import type { Prisma } from '@tollgate/store';
import { ConflictError, ValidationError } from '../../../common/errors';
import { isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import { validateTarget, type UpdateConnectionInput } from '../connection.schemas';
import { connectionInclude, presentConnection, type ConnectionView } from '../connection.presenter';
import { findConnectionOrThrow } from './find-connection';
import { resolveAgentNames } from './resolve-agent-names';

@Injectable()
export class UpdateConnectionUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly agents: AgentRegistry,
  ) {}

  async execute(ref: string, input: UpdateConnectionInput): Promise<ConnectionView> {
    try {
      const row = await this.store.prisma.$transaction(async (tx) => {
        const existing = await findConnectionOrThrow(tx, ref);
        const data: Prisma.ConnectionUpdateInput = {};
        if (input.name !== undefined) data.name = input.name;
        if (input.description !== undefined) data.description = input.description;
        if (input.tags !== undefined) data.tags = input.tags;
        if (input.credential !== undefined) data.credential = input.credential;
        if (input.target !== undefined) {
          const target = validateTarget(existing.protocol, input.target);
          if (!target.ok) throw new ValidationError(target.problems);
          data.target = target.value;
        }
        if (input.agents !== undefined) {
          const agentIds = await resolveAgentNames(tx, input.agents);
          data.agents = { deleteMany: {}, create: agentIds.map((agentId) => ({ agentId })) };
        }
        return tx.connection.update({ where: { id: existing.id }, data, include: connectionInclude });
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
