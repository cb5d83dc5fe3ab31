import { Injectable } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { StoreService } from '../store/store.service';
import { agentTokenPrefix, bearerToken, hashAgentToken } from './agent-token';
import { UnauthenticatedRpcError } from './rpc-error';
import { TunnelLogger } from './tunnel-logger';

export interface AgentIdentity {
  readonly agentId: string;
  readonly agentName: string;
  readonly tokenId: string;
  readonly tokenHash: string;
}

/**
 * Checks an agent call's `authorization: Bearer <agent token>` against the stored hashes. Unknown,
 * expired and revoked tokens are rejected (UNAUTHENTICATED) and logged with the token's prefix only.
 */
@Injectable()
export class AgentAuthenticator {
  constructor(
    private readonly store: StoreService,
    private readonly logger: TunnelLogger,
  ) {}

  async authenticate(metadata: Metadata, peer: string): Promise<AgentIdentity> {
    const token = bearerToken(metadata.get('authorization'));
    if (!token) return this.reject('missing agent token (authorization: Bearer <token>)', peer);
    const hash = hashAgentToken(token);
    const row = await this.store.prisma.agentToken.findUnique({
      where: { hash },
      include: { agent: { select: { id: true, name: true } } },
    });
    const prefix = agentTokenPrefix(token);
    if (!row) return this.reject('unknown agent token', peer, prefix);
    if (row.revokedAt) return this.reject('agent token revoked', peer, prefix, row.agent.name);
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      return this.reject('agent token expired', peer, prefix, row.agent.name);
    }
    return { agentId: row.agent.id, agentName: row.agent.name, tokenId: row.id, tokenHash: hash };
  }

  private reject(reason: string, peer: string, tokenPrefix?: string, agent?: string): never {
    this.logger.log.warn({ peer, tokenPrefix, agent, reason }, 'agent authentication rejected');
    throw new UnauthenticatedRpcError(reason);
  }
}
