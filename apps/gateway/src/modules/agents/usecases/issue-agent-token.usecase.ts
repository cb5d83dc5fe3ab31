import { Injectable } from '@nestjs/common';
import type { Prisma } from '@tollgate/store';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import { generateAgentToken } from '../../tunnel/agent-token';
import { presentAgentToken, type AgentTokenView } from '../agent-token.presenter';
import { AgentTokenAudit, type TokenActor } from '../agent-token-audit';
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

/**
 * Issues a new token (rotation); optionally revokes the others and cuts their live streams. The
 * token is shown only once its audit record is durable; if that record cannot be written the new
 * token (which nobody has seen) is revoked again and the request fails.
 */
@Injectable()
export class IssueAgentTokenUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly registry: AgentRegistry,
    private readonly audit: AgentTokenAudit,
  ) {}

  async execute(ref: string, input: IssueAgentTokenInput, by: TokenActor): Promise<IssuedAgentToken> {
    const { agent, issued, revoked } = await this.store.prisma.$transaction(async (tx) => {
      const agent = await findAgentOrThrow(tx, ref);
      const others = input.revokeOthers
        ? await tx.agentToken.findMany({
            where: { agentId: agent.id, revokedAt: null },
            select: { id: true, prefix: true },
          })
        : [];
      if (others.length > 0) {
        await tx.agentToken.updateMany({
          where: { id: { in: others.map((t) => t.id) } },
          data: { revokedAt: new Date() },
        });
      }
      return {
        agent: { id: agent.id, name: agent.name },
        issued: await createAgentToken(tx, agent.id, input.expiresInSeconds),
        revoked: others,
      };
    });
    if (revoked.length > 0) {
      this.registry.cutTokens(
        revoked.map((t) => t.id),
        'agent token revoked (rotated)',
      );
    }
    try {
      await this.audit.issued(
        by,
        agent,
        issued,
        revoked.map((t) => t.prefix),
      );
    } catch (error) {
      await this.store.prisma.agentToken
        .update({ where: { id: issued.id }, data: { revokedAt: new Date() } })
        .catch(() => undefined);
      throw error;
    }
    return issued;
  }
}
