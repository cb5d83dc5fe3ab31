import { Injectable } from '@nestjs/common';
import { StoreService } from '../../store/store.service';
import { agentTokenPrefix, hashAgentToken } from '../../tunnel/agent-token';
import { AgentTokenAudit, GATEWAY_ACTOR } from '../agent-token-audit';
import { createAgentToken } from './issue-agent-token.usecase';

/**
 * For the quickstart's local agent: makes sure an agent of this name exists and returns a token it
 * can use: `token` itself while it is still valid for that agent, otherwise a new one.
 */
@Injectable()
export class EnsureAgentTokenUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly audit: AgentTokenAudit,
  ) {}

  async execute(name: string, token?: string): Promise<{ token: string; created: boolean }> {
    const ensured = await this.store.prisma.$transaction(async (tx) => {
      const agent =
        (await tx.agent.findUnique({ where: { name } })) ??
        (await tx.agent.create({ data: { name, description: 'quickstart agent (tollgate start)' } }));
      if (token) {
        const row = await tx.agentToken.findUnique({ where: { hash: hashAgentToken(token) } });
        const valid =
          row?.agentId === agent.id &&
          !row.revokedAt &&
          (!row.expiresAt || row.expiresAt.getTime() > Date.now());
        if (valid) return { token, created: false } as const;
      }
      return { token: (await createAgentToken(tx, agent.id)).token, created: true, agent } as const;
    });
    if (ensured.created) {
      await this.audit.issued(
        GATEWAY_ACTOR,
        ensured.agent,
        { prefix: agentTokenPrefix(ensured.token), expiresAt: null },
        [],
        'issued for the quickstart agent',
      );
    }
    return { token: ensured.token, created: ensured.created };
  }
}
