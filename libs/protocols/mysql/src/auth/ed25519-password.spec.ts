import { createPublicKey, randomBytes, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { authSwitchPacket, parseAuthSwitch } from '../response-packets';
import { ed25519PasswordResponse } from './ed25519-password';

// node:crypto verifies plain Ed25519 signatures; the key is the raw 32 bytes MariaDB stores.
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function verifies(publicKey: Buffer, nonce: Buffer, signature: Buffer): boolean {
  const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
  return verify(null, nonce, key, signature);
}

describe('client_ed25519', () => {
  // MariaDB 10.11: CREATE USER u IDENTIFIED VIA ed25519 USING PASSWORD('secret') stores this key.
  const SECRET_PUBLIC_KEY = Buffer.from('ZIgUREUg5PVgQ6LskhXmO+eZLS0nC8be6HPjYWR4YJY', 'base64');

  it('signs any nonce, including one that ends in a zero byte, so that the stored key verifies it', () => {
    for (let i = 0; i < 64; i++) {
      const nonce = randomBytes(32);
      if (i % 2 === 0) nonce[31] = 0;
      expect(verifies(SECRET_PUBLIC_KEY, nonce, ed25519PasswordResponse('secret', nonce))).toBe(true);
    }
  });

  it("keeps the whole 32-byte nonce of an auth switch, and strips the scramble plugins' terminator", () => {
    const nonce = Buffer.concat([randomBytes(31), Buffer.from([0])]);
    expect(parseAuthSwitch(authSwitchPacket('client_ed25519', nonce).subarray(0, -1))).toEqual({
      plugin: 'client_ed25519',
      data: nonce,
    });
    const scramble = randomBytes(20);
    expect(parseAuthSwitch(authSwitchPacket('mysql_native_password', scramble))).toEqual({
      plugin: 'mysql_native_password',
      data: scramble,
    });
  });
});
