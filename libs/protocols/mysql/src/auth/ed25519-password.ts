import { createHash } from 'node:crypto';

/**
 * MariaDB's client_ed25519: an Ed25519 signature of the server's nonce, with the secret scalar and
 * nonce prefix taken from SHA-512 of the password itself (RFC 8032 takes them from SHA-512 of a
 * 32-byte seed, so node:crypto's Ed25519 keys cannot express it). Arithmetic in BigInt on the
 * curve's extended coordinates; the server verifies against the public key it stored for the user.
 */
const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const D = mod(-121665n * inverse(121666n));
const GX = 15112221349535400772501151409588531511454012693041857206046113283949847762202n;
const GY = 46316835694926478169428394003475163141307993866256225615783033603165251855960n;
type Point = readonly [bigint, bigint, bigint, bigint];
const BASE: Point = [GX, GY, 1n, mod(GX * GY)];
const IDENTITY: Point = [0n, 1n, 1n, 0n];

function mod(a: bigint, m = P): bigint {
  const r = a % m;
  return r >= 0n ? r : r + m;
}

function power(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = mod(base);
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = mod(result * b);
    b = mod(b * b);
  }
  return result;
}

function inverse(a: bigint): bigint {
  return power(a, P - 2n);
}

function add([x1, y1, z1, t1]: Point, [x2, y2, z2, t2]: Point): Point {
  const a = mod((y1 - x1) * (y2 - x2));
  const b = mod((y1 + x1) * (y2 + x2));
  const c = mod(2n * D * t1 * t2);
  const d = mod(2n * z1 * z2);
  const e = b - a;
  const f = d - c;
  const g = d + c;
  const h = b + a;
  return [mod(e * f), mod(g * h), mod(f * g), mod(e * h)];
}

function multiply(scalar: bigint, point: Point): Point {
  let result = IDENTITY;
  let addend = point;
  for (let s = scalar; s > 0n; s >>= 1n) {
    if (s & 1n) result = add(result, addend);
    addend = add(addend, addend);
  }
  return result;
}

function encode([x, y, z]: Point): Buffer {
  const zi = inverse(z);
  const ax = mod(x * zi);
  const ay = mod(y * zi);
  const out = Buffer.from(ay.toString(16).padStart(64, '0'), 'hex').reverse();
  if (ax & 1n) out[31] = (out[31] as number) | 0x80;
  return out;
}

const littleEndian = (bytes: Buffer) => BigInt(`0x${Buffer.from(bytes).reverse().toString('hex') || '0'}`);
const sha512 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('sha512')).digest();

export function ed25519PasswordResponse(password: string, nonce: Buffer): Buffer {
  const az = sha512(Buffer.from(password, 'utf8'));
  az[0] = (az[0] as number) & 248;
  az[31] = ((az[31] as number) & 63) | 64;
  const a = littleEndian(az.subarray(0, 32));
  const publicKey = encode(multiply(a, BASE));
  const r = mod(littleEndian(sha512(az.subarray(32, 64), nonce)), L);
  const R = encode(multiply(r, BASE));
  const k = mod(littleEndian(sha512(R, publicKey, nonce)), L);
  const s = mod(r + k * a, L);
  return Buffer.concat([R, Buffer.from(s.toString(16).padStart(64, '0'), 'hex').reverse()]);
}
