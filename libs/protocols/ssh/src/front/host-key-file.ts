import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { utils, type ParsedKey } from 'ssh2';
import { generateEd25519KeyPair } from '../keys/ed25519-key-pair';
import { hostKeyFingerprint } from '../target/host-key-fingerprint';

/**
 * The host key `tollgate connect` presents to local SSH clients: made once per user (ed25519,
 * OpenSSH format, mode 0600) and kept, so `ssh` sees the same key every time and known_hosts keeps
 * working. A file that exists but is not a private key is an error, never silently replaced (that
 * includes a key from an earlier version that ssh2's generator wrote malformed: ssh2 cannot read it).
 */
export function loadOrCreateHostKey(path: string): string {
  let text: string | undefined;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (text !== undefined) {
    const parsed = utils.parseKey(text);
    if (parsed instanceof Error || !parsed.isPrivateKey()) {
      throw new Error(`${path} is not an SSH private key (delete it to make a new one)`);
    }
    return text;
  }
  const key = generateEd25519KeyPair('tollgate connect').private;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // `wx`: if another tollgate connect made one meanwhile, keep theirs.
  try {
    writeFileSync(path, key, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return readFileSync(path, 'utf8');
    throw error;
  }
  return key;
}

/** The OpenSSH fingerprint (`SHA256:...`) of a private host key's public half, as clients see it. */
export function hostKeyFileFingerprint(privateKey: string): string {
  return hostKeyFingerprint(publicHalf(privateKey).getPublicSSH());
}

/** The public half of a private host key as a known_hosts entry takes it: `ssh-ed25519 AAAA...`. */
export function hostKeyPublicLine(privateKey: string): string {
  const key = publicHalf(privateKey);
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}

function publicHalf(privateKey: string): ParsedKey {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const key: ParsedKey | undefined = Array.isArray(parsed) ? (parsed[0] as ParsedKey | undefined) : parsed;
  if (!key) throw new Error('not an SSH private key');
  return key;
}
