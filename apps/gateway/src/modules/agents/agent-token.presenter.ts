import type { Prisma } from '@tollgate/store';

type AgentTokenRow = Prisma.AgentTokenGetPayload<object>;

/** An agent token as the API shows it: never the token or its hash, only the visible prefix. */
export interface AgentTokenView {
  id: string;
  prefix: string;
  status: 'active' | 'expired' | 'revoked';
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

export function presentAgentToken(row: AgentTokenRow, now = Date.now()): AgentTokenView {
  const status = row.revokedAt
    ? 'revoked'
    : row.expiresAt && row.expiresAt.getTime() <= now
      ? 'expired'
      : 'active';
  return {
    id: row.id,
    prefix: row.prefix,
    status,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
