import { Injectable } from '@nestjs/common';
import type { Prisma } from '@tollgate/store';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import { generateAgentToken } from '../../tunnel/agent-token';
import { presentAgentToken, type AgentTokenView } from '../agent-token.presenter';
import type { IssueAgentTokenInput } from '../agent.schemas';
import { findAgentOrThrow } from './find-agent';

export type IssuedAgentToken = AgentTokenView & { token: string };

/** Creates a token for an agent inside a transaction; the plain token is returned once. */
export async function createAgentToken(
  tx: Prisma.TransactionClient,
  agentId: string,
  expiresInSeconds?: number,
): Promise<IssuedAgentToken> {
  const { token, hash, prefix } = generateAgentToken();
  const row = await tx.agentToken.create({
    data: {
      agentId,
      hash,
      prefix,
      expiresAt: expiresInSeconds ? new Date(Date.now() + expiresInSeconds * 1000) : null,
    },
  });
  return { ...presentAgentToken(row), token };
}

/** Issues a new token (rotation); optionally revokes the others and cuts their live streams. */
@Injectable()
export class IssueAgentTokenUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly registry: AgentRegistry,
  ) {}

  async execute(ref: string, input: IssueAgentTokenInput): Promise<IssuedAgentToken> {
    const { issued, revokedIds } = await this.store.prisma.$transaction(async (tx) => {
      const agent = await findAgentOrThrow(tx, ref);
      const others = input.revokeOthers
        ? await tx.agentToken.findMany({
            where: { agentId: agent.id, revokedAt: null },
            select: { id: true },
          })
        : [];
      if (others.length > 0) {
        await tx.agentToken.updateMany({
          where: { id: { in: others.map((t) => t.id) } },
          data: { revokedAt: new Date() },
        });
      }
      return {
        issued: await createAgentToken(tx, agent.id, input.expiresInSeconds),
        revokedIds: others.map((t) => t.id),
      };
    });
    if (revokedIds.length > 0) this.registry.cutTokens(revokedIds, 'agent token revoked (rotated)');
    return issued;
  }
}
