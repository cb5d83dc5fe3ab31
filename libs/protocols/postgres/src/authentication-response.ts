import { BufferReader } from './buffer-reader';
import { BufferWriter } from './buffer-writer';

/**
 * The 'p' message's body depends on the authentication exchange in progress. These read and write
 * the three forms Tollgate uses: PasswordMessage (cleartext or MD5 hash), SASLInitialResponse and
 * SASLResponse.
 */
export function parsePasswordMessage(data: Buffer): string {
  const r = new BufferReader(data, 0, data.length, 'PasswordMessage');
  const password = r.cstring();
  r.expectEnd();
  return password;
}

export function passwordMessageBody(password: string): Buffer {
  return Buffer.concat([Buffer.from(password, 'utf8'), Buffer.from([0])]);
}

export interface SaslInitialResponse {
  mechanism: string;
  /** null when the client sent length -1 (no initial response). */
  data: Buffer | null;
}

export function parseSaslInitialResponse(data: Buffer): SaslInitialResponse {
  const r = new BufferReader(data, 0, data.length, 'SASLInitialResponse');
  const mechanism = r.cstring();
  const initial = r.nullableBytes();
  r.expectEnd();
  return { mechanism, data: initial };
}

export function saslInitialResponseBody(mechanism: string, data: Buffer | null): Buffer {
  const w = new BufferWriter();
  w.cstring(mechanism).nullableBytes(data);
  // Reuse the writer's framing, then strip the 5-byte header it reserves.
  return Buffer.from(w.message(0).subarray(5));
}
