import { Injectable } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { StoreService } from '../store/store.service';
import { AgentAuditTrail } from './agent-audit';
import { agentTokenPrefix, bearerToken, hashAgentToken } from './agent-token';
import { UnauthenticatedRpcError } from './rpc-error';
import { TunnelLogger } from './tunnel-logger';

export interface AgentIdentity {
  readonly agentId: string;
  readonly agentName: string;
  readonly tokenId: string;
  readonly tokenHash: string;
  /** The token's visible prefix (never the token): audit records name the token by it. */
  readonly tokenPrefix: string;
}

/**
 * Checks an agent call's `authorization: Bearer <agent token>` against the stored hashes. Unknown,
 * expired and revoked tokens are rejected (UNAUTHENTICATED), logged and recorded in the audit log
 * with the token's prefix only and the caller's address.
 */
@Injectable()
export class AgentAuthenticator {
  constructor(
    private readonly store: StoreService,
    private readonly trail: AgentAuditTrail,
    private readonly logger: TunnelLogger,
  ) {}

  async authenticate(
    metadata: Metadata,
    peer: string,
    stream: 'control' | 'session',
  ): Promise<AgentIdentity> {
    const token = bearerToken(metadata.get('authorization'));
    const refuse = (reason: string, tokenPrefix?: string, agentName?: string): never => {
      this.logger.log.warn({ peer, tokenPrefix, agent: agentName, reason }, 'agent authentication rejected');
      this.trail.loginRefused({
        reason,
        address: peer,
        stream,
        ...(tokenPrefix ? { tokenPrefix } : {}),
        ...(agentName ? { agentName } : {}),
      });
      throw new UnauthenticatedRpcError(reason);
    };
    if (!token) return refuse('missing agent token (authorization: Bearer <token>)');
    const hash = hashAgentToken(token);
    const row = await this.store.prisma.agentToken.findUnique({
      where: { hash },
      include: { agent: { select: { id: true, name: true } } },
    });
    const prefix = agentTokenPrefix(token);
    if (!row) return refuse('unknown agent token', prefix);
    if (row.revokedAt) return refuse('agent token revoked', prefix, row.agent.name);
    if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
      return refuse('agent token expired', prefix, row.agent.name);
    }
    return {
      agentId: row.agent.id,
      agentName: row.agent.name,
      tokenId: row.id,
      tokenHash: hash,
      tokenPrefix: row.prefix,
    };
  }
}
