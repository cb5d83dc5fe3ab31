import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { decodeStoreKey } from '@tollgate/config';

const PREFIX = 'tgs1';

/** A sealed value that cannot be opened: no key, another key, or altered. */
export class SealedSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealedSecretError';
  }
}

/**
 * Seals secrets the gateway must keep in its store (the private signing keys, the IdP refresh
 * tokens) with AES-256-GCM under TOLLGATE_STORE_KEY, so reading the database is not enough to mint
 * tokens. Each value is bound to what it is (`context`, authenticated but not stored): a sealed
 * value copied into another row does not open there. Without a key, values are stored as they are;
 * values stored before a key was set are still read, and resealed by their owners (see
 * SigningKeysService). Format: `tgs1.<key id>.<iv>.<ciphertext>.<tag>` (base64url).
 */
export class SecretBox {
  private constructor(
    private readonly key: Buffer | undefined,
    private readonly keyId: string,
  ) {}

  static from(storeKey: string | undefined): SecretBox {
    if (storeKey === undefined) return new SecretBox(undefined, '');
    const decoded = decodeStoreKey(storeKey);
    if ('problem' in decoded) throw new SealedSecretError(`TOLLGATE_STORE_KEY: ${decoded.problem}`);
    const keyId = createHash('sha256').update(decoded.key).digest('base64url').slice(0, 8);
    return new SecretBox(decoded.key, keyId);
  }

  /** Whether new values are sealed (a key is configured). */
  get sealing(): boolean {
    return this.key !== undefined;
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(`${PREFIX}.`);
  }

  seal(plain: string, context: string): string {
    if (!this.key) return plain;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [PREFIX, this.keyId, iv, body, cipher.getAuthTag()]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  open(stored: string, context: string): string {
    if (!SecretBox.isSealed(stored)) return stored;
    const [, keyId, iv, body, tag] = stored.split('.');
    if (!this.key) {
      throw new SealedSecretError(
        `the store holds secrets sealed with a store key (key id ${keyId}); set TOLLGATE_STORE_KEY to that key`,
      );
    }
    if (keyId !== this.keyId) {
      throw new SealedSecretError(
        `a secret in the store was sealed with another TOLLGATE_STORE_KEY (key id ${keyId}, this one is ${this.keyId})`,
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv ?? '', 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
      return Buffer.concat([
        decipher.update(Buffer.from(body ?? '', 'base64url')),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new SealedSecretError(
        `a sealed secret in the store (${context}) was altered and cannot be opened`,
      );
    }
  }
}
