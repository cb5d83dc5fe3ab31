// ssh2 (without its optional native binding, which is not built here) makes a new OpenSSL object
// for every SSH packet: AES-GCM creates a cipher per packet, and AES-CTR's HMAC (etm or not) an
// HMAC per packet, from the key as a Buffer. Node imports a Buffer key into a new key object each
// time, and that import costs more than the HMAC or the GCM encryption of a 32 KiB packet itself
// (measured on Node 24: GCM 0.65 ms/MiB with a Buffer key, 0.25 with a KeyObject; HMAC-SHA256
// 1.06 and 0.76). Here each cipher, decipher and MAC key is turned into a KeyObject once, the first
// time it is used; the algorithms, the bytes on the wire and every check stay ssh2's own. Any
// ssh2 version other than the pinned one (whose internals this relies on) runs unchanged.
// Deciphers also stop holding what an idle connection does not need (see unpoolScratch and the
// per-packet GCM decipher).
import { createSecretKey, KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';

/** The ssh2 version whose cipher classes are wrapped (package.json pins it). */
const PATCHED_SSH2_VERSION = '1.17.0';

interface CipherInfo {
  readonly keyLen: number;
  readonly ivLen: number;
}
interface MacInfo {
  readonly len: number;
}
interface Ssh2Crypto {
  readonly CIPHER_INFO: Record<string, CipherInfo>;
  readonly MAC_INFO: Record<string, MacInfo>;
  createCipher(config: object): object;
  createDecipher(config: object): object;
}
type Method = (this: Record<string, unknown>, ...args: unknown[]) => unknown;

/** A decipher's scratch Buffers (the tag, a length block, a MAC) that live as long as the connection. */
const SCRATCH_FIELDS = ['_tag', '_block', '_mac'] as const;

/**
 * ssh2 takes a decipher's few-byte scratch Buffers from Node's Buffer pool (Buffer.allocUnsafe),
 * where each keeps its whole pool slab (64 KiB on Node 24) alive for as long as the connection
 * lasts; copies of their own (same bytes) hold only themselves.
 */
function unpoolScratch(decipher: Record<string, unknown>): void {
  for (const field of SCRATCH_FIELDS) {
    const scratch = decipher[field];
    if (!Buffer.isBuffer(scratch) || scratch.buffer.byteLength === scratch.length) continue;
    const own = Buffer.alloc(scratch.length);
    scratch.copy(own);
    decipher[field] = own;
  }
}

let installed: boolean | undefined;

/**
 * Makes ssh2's AES-GCM and AES-CTR+HMAC packet ciphers (both directions, client and server) reuse
 * one key object per key. Returns whether it is in effect: false with any ssh2 but the pinned
 * version. Idempotent; call it before connections are made (ones made before keep Buffer keys,
 * which works as before).
 */
export function installSsh2CipherKeys(): boolean {
  if (installed !== undefined) return installed;
  const require = createRequire(__filename);
  const { version } = require('ssh2/package.json') as { version: string };
  if (version !== PATCHED_SSH2_VERSION) return (installed = false);
  const crypto = require('ssh2/lib/protocol/crypto.js') as Ssh2Crypto;

  // One instance of each class ssh2 uses without its binding (forceNative), to reach its prototype.
  const gcm = crypto.CIPHER_INFO['aes128-gcm@openssh.com'];
  const ctr = crypto.CIPHER_INFO['aes128-ctr'];
  const mac = crypto.MAC_INFO['hmac-sha2-256-etm@openssh.com'];
  if (!gcm || !ctr || !mac) return (installed = false);
  const outbound = (cipherInfo: CipherInfo) => ({
    outbound: {
      onWrite: () => undefined,
      cipherInfo,
      cipherKey: Buffer.alloc(cipherInfo.keyLen),
      cipherIV: Buffer.alloc(cipherInfo.ivLen),
      seqno: 0,
      macInfo: mac,
      macKey: Buffer.alloc(mac.len),
      forceNative: true,
    },
  });
  const inbound = (decipherInfo: CipherInfo) => ({
    inbound: {
      onPayload: () => undefined,
      decipherInfo,
      decipherKey: Buffer.alloc(decipherInfo.keyLen),
      decipherIV: Buffer.alloc(decipherInfo.ivLen),
      seqno: 0,
      macInfo: mac,
      macKey: Buffer.alloc(mac.len),
      forceNative: true,
    },
  });
  // [prototype, method that uses the key, the field holding the key]
  const targets: [object, string, string][] = [
    [crypto.createCipher(outbound(gcm)), 'encrypt', '_encKey'],
    [crypto.createDecipher(inbound(gcm)), 'decrypt', '_decipherKey'],
    [crypto.createCipher(outbound(ctr)), 'encrypt', '_macKey'],
    [crypto.createDecipher(inbound(ctr)), 'decrypt', '_macKey'],
  ];
  for (const [instance, method, field] of targets) {
    const proto = Object.getPrototypeOf(instance) as Record<string, unknown>;
    const key = (instance as Record<string, unknown>)[field];
    if (typeof proto[method] !== 'function' || !Buffer.isBuffer(key)) return (installed = false);
  }
  for (const [instance, method, field] of targets) {
    const proto = Object.getPrototypeOf(instance) as Record<string, Method>;
    const original = proto[method]!;
    const decipher = method === 'decrypt';
    // AES-GCM makes a decipher per packet; the last one is not needed once its packet is done.
    const perPacketDecipher = decipher && field === '_decipherKey';
    proto[method] = function (this: Record<string, unknown>, ...args: unknown[]) {
      const key = this[field];
      if (!(key instanceof KeyObject) && Buffer.isBuffer(key)) {
        this[field] = createSecretKey(key);
        if (decipher) unpoolScratch(this);
      }
      const result = original.apply(this, args);
      if (perPacketDecipher && this['_lenBytes'] === 0) this['_decipherInstance'] = null;
      return result;
    };
  }
  return (installed = true);
}
