import { Injectable } from '@nestjs/common';
import { ConflictError } from '../../../common/errors';
import { isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';
import { agentInclude, presentAgent, type AgentView } from '../agent.presenter';
import { AgentTokenAudit, type TokenActor } from '../agent-token-audit';
import type { CreateAgentInput } from '../agent.schemas';
import { createAgentToken } from './issue-agent-token.usecase';

@Injectable()
export class CreateAgentUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly audit: AgentTokenAudit,
  ) {}

  /**
   * Creates the agent and its first token; the token is in this response only, and only once its
   * issue is recorded (otherwise it is revoked unseen and the request fails).
   */
  async execute(input: CreateAgentInput, by: TokenActor): Promise<AgentView & { token: string }> {
    let created;
    try {
      created = await this.store.prisma.$transaction(async (tx) => {
        const row = await tx.agent.create({
          data: { name: input.name, description: input.description ?? null, labels: input.labels },
          include: agentInclude,
        });
        return { row, issued: await createAgentToken(tx, row.id) };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`an agent named "${input.name}" already exists`);
      throw error;
    }
    const { row, issued } = created;
    try {
      await this.audit.issued(by, row, issued, [], 'issued with the new agent');
    } catch (error) {
      await this.store.prisma.agentToken
        .update({ where: { id: issued.id }, data: { revokedAt: new Date() } })
        .catch(() => undefined);
      throw error;
    }
    return { ...presentAgent(row), token: issued.token };
  }
}
