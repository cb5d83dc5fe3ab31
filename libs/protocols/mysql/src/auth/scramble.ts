import { createHash } from 'node:crypto';

const sha1 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest();
const sha256 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest();

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = (a[i] as number) ^ (b[i % b.length] as number);
  return out;
}

/** mysql_native_password: SHA1(password) XOR SHA1(nonce + SHA1(SHA1(password))); empty for no password. */
export function nativePasswordResponse(password: string, nonce: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  return xor(stage1, sha1(nonce.subarray(0, 20), sha1(stage1)));
}

/** caching_sha2_password's fast path: SHA256(password) XOR SHA256(SHA256(SHA256(password)) + nonce). */
export function cachingSha2Response(password: string, nonce: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  return xor(stage1, sha256(sha256(stage1), nonce.subarray(0, 20)));
}

/** The password for full authentication with the server's RSA key: (password NUL) XOR nonce. */
export function rsaPasswordPlaintext(password: string, nonce: Buffer): Buffer {
  return xor(Buffer.from(`${password}\0`, 'utf8'), nonce.subarray(0, 20));
}

export { xor as xorBytes, sha1, sha256 };
