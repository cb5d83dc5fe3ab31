import { utils } from 'ssh2';

/** An ed25519 public key blob: string "ssh-ed25519" (4 + 11 bytes), string key (4 + 32 bytes). */
const ED25519_BLOB_BYTES = 51;

/**
 * A new ed25519 key pair in OpenSSH format. ssh2 (1.17) writes the public key without its leading
 * byte when that byte is zero (about one pair in 256), a 31-byte key that every SSH client refuses
 * (RFC 8709: 32 bytes); such a pair is drawn again.
 */
export function generateEd25519KeyPair(comment?: string): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519', comment === undefined ? undefined : { comment });
    if (isWellFormedEd25519(pair.public)) return pair;
  }
}

/** Whether an OpenSSH public key line of type ssh-ed25519 carries a 32-byte key (other types: true). */
export function isWellFormedEd25519(publicLine: string): boolean {
  const [type, data] = publicLine.trim().split(/\s+/);
  if (type !== 'ssh-ed25519') return true;
  return Buffer.from(data ?? '', 'base64').length === ED25519_BLOB_BYTES;
}
