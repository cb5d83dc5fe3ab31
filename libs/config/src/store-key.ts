import { readFileSync } from 'node:fs';

/**
 * The key that seals secrets the gateway keeps in its store (signing keys, IdP refresh tokens):
 * 32 random bytes, written as base64 (`openssl rand -base64 32`) or hex, either in the setting
 * itself or in a file named `file:/path`. Returns the key, or why the value is not one.
 */
export function decodeStoreKey(value: string): { key: Buffer } | { problem: string } {
  let text = value;
  if (value.startsWith('file:')) {
    const path = value.slice(5);
    try {
      text = readFileSync(path, 'utf8').trim();
    } catch (error) {
      return { problem: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})` };
    }
  }
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(text)
      ? Buffer.from(text.replace(/-/g, '+').replace(/_/g, '/'), 'base64')
      : undefined;
  if (!key || key.length !== 32) {
    return {
      problem: 'expected 32 random bytes as base64 or hex (openssl rand -base64 32), or file:/path to them',
    };
  }
  return { key };
}
