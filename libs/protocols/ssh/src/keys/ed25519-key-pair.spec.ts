import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { utils } from 'ssh2';
import { describe, expect, it } from 'vitest';
import { hostKeyPublicLine, loadOrCreateHostKey } from '../front/host-key-file';
import { generateEd25519KeyPair, isWellFormedEd25519 } from './ed25519-key-pair';
import { parseUserPublicKey } from './user-public-key';

describe('generateEd25519KeyPair', () => {
  it('never hands out a key with a malformed public half (ssh2 drops a leading zero byte, ~1 in 256)', () => {
    // 2,000 pairs: with ssh2's own generator about 8 would be 31-byte keys.
    for (let i = 0; i < 2000; i++) {
      const pair = generateEd25519KeyPair();
      expect(parseUserPublicKey(pair.public).algorithm).toBe('ssh-ed25519');
      expect(isWellFormedEd25519(hostKeyPublicLine(pair.private))).toBe(true);
    }
  });

  it('tells a 31-byte ed25519 key from a good one, and leaves other types alone', () => {
    const good = generateEd25519KeyPair().public;
    const blob = Buffer.from(good.split(' ')[1] ?? '', 'base64');
    const cut = Buffer.concat([blob.subarray(0, 15), Buffer.from([0, 0, 0, 31]), blob.subarray(20)]);
    expect(isWellFormedEd25519(good)).toBe(true);
    expect(isWellFormedEd25519(`ssh-ed25519 ${cut.toString('base64')}`)).toBe(false);
    expect(isWellFormedEd25519(utils.generateKeyPairSync('ecdsa', { bits: 256 }).public)).toBe(true);
  });
});

describe('loadOrCreateHostKey', () => {
  it('makes a well-formed key once and keeps it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-host-key-'));
    try {
      const path = join(dir, 'host_key');
      const made = loadOrCreateHostKey(path);
      expect(loadOrCreateHostKey(path)).toBe(made);
      expect(readFileSync(path, 'utf8')).toBe(made);
      expect(isWellFormedEd25519(hostKeyPublicLine(made))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
