import { Injectable } from '@nestjs/common';
import { NotFoundError } from '../../../common/errors';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import { presentAgentToken, type AgentTokenView } from '../agent-token.presenter';
import { AgentTokenAudit, type TokenActor } from '../agent-token-audit';
import { findAgentOrThrow } from './find-agent';

/**
 * Revokes a token (by id or prefix) and cuts the live streams that authenticated with it, then
 * records who did it. The revocation stands even if its record cannot be written (the request then
 * fails, and repeating it records it).
 */
@Injectable()
export class RevokeAgentTokenUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly registry: AgentRegistry,
    private readonly audit: AgentTokenAudit,
  ) {}

  async execute(ref: string, tokenRef: string, by: TokenActor): Promise<AgentTokenView> {
    const { agent, row } = await this.store.prisma.$transaction(async (tx) => {
      const agent = await findAgentOrThrow(tx, ref);
      const token = await tx.agentToken.findFirst({
        where: {
          agentId: agent.id,
          OR: [{ prefix: tokenRef }, ...(isUuid(tokenRef) ? [{ id: tokenRef }] : [])],
        },
      });
      if (!token) throw new NotFoundError('agent token', tokenRef);
      const row = await tx.agentToken.update({
        where: { id: token.id },
        data: { revokedAt: token.revokedAt ?? new Date() },
      });
      return { agent: { id: agent.id, name: agent.name }, row };
    });
    this.registry.cutTokens([row.id], 'agent token revoked');
    await this.audit.revoked(by, agent, [row.prefix], 'revoked through the API');
    return presentAgentToken(row);
  }
}

function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}
