import { Injectable } from '@nestjs/common';
import { AuditWriter } from '../audit/audit-writer';
import type { Actor } from '../identity/principal';

/** Who issued or revoked: the API caller (subject and actor chain), or the gateway itself. */
export interface TokenActor {
  readonly subject: string;
  readonly actorChain: readonly Actor[];
}

/** The quickstart's own agent token is issued by the gateway, not by a caller. */
export const GATEWAY_ACTOR: TokenActor = { subject: 'system:gateway', actorChain: [] };

interface AgentRef {
  readonly id: string;
  readonly name: string;
}

/**
 * Audit records of agent tokens: issue (a new agent's first token, or another), rotation (a new
 * token, the others revoked) and revocation, each naming the agent, the token prefixes (never a
 * token) and who did it.
 */
@Injectable()
export class AgentTokenAudit {
  constructor(private readonly audit: AuditWriter) {}

  async issued(
    by: TokenActor,
    agent: AgentRef,
    token: { readonly prefix: string; readonly expiresAt: string | null },
    revokedPrefixes: readonly string[],
    why = 'issued',
  ): Promise<void> {
    const rotation = revokedPrefixes.length > 0;
    await this.audit.record({
      subject: by.subject,
      actorChain: by.actorChain,
      action: rotation ? 'agent-token:rotate' : 'agent-token:issue',
      target: `agent:${agent.name}`,
      decision: 'allow',
      reason: rotation
        ? `agent "${agent.name}" token ${token.prefix} issued; ${revokedPrefixes.join(', ')} revoked`
        : `agent "${agent.name}" token ${token.prefix} ${why}`,
      payload: {
        agentId: agent.id,
        agent: agent.name,
        tokenPrefix: token.prefix,
        expiresAt: token.expiresAt,
        ...(rotation ? { revokedPrefixes } : {}),
      },
    });
  }

  async revoked(by: TokenActor, agent: AgentRef, prefixes: readonly string[], why: string): Promise<void> {
    await this.audit.record({
      subject: by.subject,
      actorChain: by.actorChain,
      action: 'agent-token:revoke',
      target: `agent:${agent.name}`,
      decision: 'allow',
      reason: `agent "${agent.name}" token${prefixes.length === 1 ? '' : 's'} ${prefixes.join(', ') || '(none)'} revoked: ${why}`,
      payload: { agentId: agent.id, agent: agent.name, tokenPrefixes: prefixes },
    });
  }
}
