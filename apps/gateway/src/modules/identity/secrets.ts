import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A high-entropy secret for a caller to keep (client secrets, API keys, refresh tokens). */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Secrets we hand out are 256-bit random, so a plain SHA-256 is a sound one-way hash for them
 * (no password stretching needed); only this hash is stored.
 */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(secretHash(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
