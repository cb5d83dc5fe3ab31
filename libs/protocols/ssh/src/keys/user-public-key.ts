import { utils, type ParsedKey } from 'ssh2';
import { hostKeyFingerprint } from '../target/host-key-fingerprint';

/** Key types a user may register for public-key login (those ssh2 verifies signatures of). */
export const USER_KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
] as const;

/** RSA keys shorter than this are refused (OpenSSH's own floor since 8.8 is 1024; NIST's is 2048). */
export const MIN_RSA_BITS = 2048;

/** A public key a user registers, as one line of `~/.ssh/id_*.pub` or authorized_keys gives it. */
export interface UserPublicKey {
  /** The key type (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`...). */
  readonly algorithm: string;
  /** The key's wire blob (what the second field of the line decodes to). */
  readonly blob: Buffer;
  /** `SHA256:...`, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  /** The line's comment (often `user@host`), empty when it has none. */
  readonly comment: string;
  /** `algorithm base64`, the key without its comment. */
  readonly text: string;
}

/** A public key that cannot be registered; the message says why, for the person who gave it. */
export class PublicKeyFormatError extends Error {
  override readonly name = 'PublicKeyFormatError';
}

/**
 * Reads one OpenSSH public key line (`ssh-ed25519 AAAA... comment`). Refuses, with a message that
 * says what to give instead: a private key, several keys, authorized_keys options, certificates and
 * security keys (sk-...), unknown types, data that is not a key of the type the line names, and RSA
 * keys under 2048 bits.
 */
export function parseUserPublicKey(input: string): UserPublicKey {
  const text = input.trim();
  if (text === '') throw new PublicKeyFormatError('the public key is empty');
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) {
    throw new PublicKeyFormatError(
      'this is a private key: give the public key (the .pub file beside it, or `ssh-keygen -y -f KEY`)',
    );
  }
  if (text.startsWith('---- BEGIN SSH2 PUBLIC KEY ----')) {
    throw new PublicKeyFormatError(
      'this is an RFC 4716 (SSH2) public key: convert it to OpenSSH form with `ssh-keygen -i -f FILE`',
    );
  }
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
  if (lines.length !== 1) {
    throw new PublicKeyFormatError(
      `expected one public key line, got ${lines.length}: register keys one at a time`,
    );
  }
  const [type = '', data = '', ...rest] = lines[0]!.trim().split(/\s+/);
  if (type.startsWith('sk-')) {
    throw new PublicKeyFormatError(
      `security keys (${type}) are not supported yet: use an ed25519, ECDSA or RSA key`,
    );
  }
  if (type.includes('-cert-v01@openssh.com')) {
    throw new PublicKeyFormatError(`certificates (${type}) are not supported: give the plain public key`);
  }
  if (!(USER_KEY_TYPES as readonly string[]).includes(type)) {
    const hint = /[="]/.test(type) ? ' (authorized_keys options are not accepted; give the key alone)' : '';
    throw new PublicKeyFormatError(
      `unknown key type ${JSON.stringify(type.slice(0, 60))}${hint}: expected one of ${USER_KEY_TYPES.join(', ')}`,
    );
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) {
    throw new PublicKeyFormatError(`the key data after "${type}" is not base64`);
  }
  const blob = Buffer.from(data, 'base64');
  const parsed = parsePublicBlob(blob);
  if (!parsed) throw new PublicKeyFormatError(`the key data is not a valid ${type} public key`);
  if (parsed.type !== type) {
    throw new PublicKeyFormatError(`the line says ${type} but its data is a ${parsed.type} key`);
  }
  if (type === 'ssh-rsa') {
    const bits = rsaModulusBits(blob);
    if (bits < MIN_RSA_BITS) {
      throw new PublicKeyFormatError(`the RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
    }
  }
  return {
    algorithm: type,
    blob,
    fingerprint: hostKeyFingerprint(blob),
    comment: rest.join(' '),
    text: `${type} ${blob.toString('base64')}`,
  };
}

/** The OpenSSH fingerprint of a public key's wire blob. */
export function publicKeyFingerprint(blob: Uint8Array): string {
  return hostKeyFingerprint(blob);
}

/**
 * Whether `signature` over `data` (a USERAUTH_REQUEST's signed blob) was made by the private half of
 * the public key `blob`. ssh2's server hands both over without checking them: this is the check.
 */
export function verifyPublicKeySignature(
  blob: Buffer,
  data: Buffer,
  signature: Buffer,
  hashAlgo: string | undefined,
): boolean {
  const key = parsePublicBlob(blob);
  if (!key) return false;
  try {
    return key.verify(data, signature, hashAlgo) === true;
  } catch {
    return false;
  }
}

function parsePublicBlob(blob: Buffer): ParsedKey | undefined {
  let parsed: ParsedKey | ParsedKey[] | Error;
  try {
    parsed = utils.parseKey(blob);
  } catch {
    return undefined;
  }
  if (parsed instanceof Error) return undefined;
  const key: ParsedKey | undefined = Array.isArray(parsed) ? (parsed as ParsedKey[])[0] : parsed;
  return key && !key.isPrivateKey() ? key : undefined;
}

/** An ssh-rsa blob is string "ssh-rsa", mpint e, mpint n: the size of n without its sign byte. */
function rsaModulusBits(blob: Buffer): number {
  let offset = 0;
  const next = () => {
    const length = blob.readUInt32BE(offset);
    const value = blob.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  next();
  next();
  const n = next();
  let start = 0;
  while (start < n.length && n[start] === 0) start++;
  if (start === n.length) return 0;
  return (n.length - start - 1) * 8 + (32 - Math.clz32(n[start]!));
}
