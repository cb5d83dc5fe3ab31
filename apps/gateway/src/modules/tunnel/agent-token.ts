import { createHash, randomBytes } from 'node:crypto';

/** Agent tokens: `tga_` + 256 random bits. Only the SHA-256 hash is stored; the prefix is shown. */
export function generateAgentToken(): { token: string; hash: string; prefix: string } {
  const token = `tga_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashAgentToken(token), prefix: agentTokenPrefix(token) };
}

export function hashAgentToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function agentTokenPrefix(token: string): string {
  return token.slice(0, 12);
}

/** The bearer token of a gRPC call's `authorization` metadata, if any. */
export function bearerToken(values: readonly unknown[]): string | undefined {
  const header = values[0];
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
