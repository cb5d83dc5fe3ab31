import { Protocol } from '@tollgate/proto';
import type {
  ProtocolRefuser,
  Refusal,
  RefusalDialogue,
  RefusalKind,
  SessionWatch,
} from '@tollgate/protocol-tcp';
import { fatalErrorResponse } from '../backend-message.serializer';
import { FrontendMessageParser } from '../frontend-message.parser';
import {
  BackendCode,
  GSSENC_REQUEST_CODE,
  PROTOCOL_VERSION_3,
  SSL_REQUEST_CODE,
  CANCEL_REQUEST_CODE,
} from '../message-codes';

/** The SQLSTATE a PostgreSQL client sees for each refusal (FATAL: the session is over). */
export const REFUSAL_SQLSTATES: Readonly<Record<RefusalKind, string>> = {
  'not-found': '3D000', // invalid_catalog_name: what the server says for an unknown database
  denied: '28000', // invalid_authorization_specification
  unauthenticated: '28000',
  unavailable: '08001', // sqlclient_unable_to_establish_sqlconnection
  terminated: '57P01', // admin_shutdown: "terminating connection due to administrator command"
  'credential-expired': '28000',
  'policy-changed': '28000',
  'idle-timeout': '57P05', // idle_session_timeout
  shutdown: '57P01',
  lost: '08006', // connection_failure
  internal: 'XX000',
};

/** The FATAL ErrorResponse that tells a PostgreSQL client why Tollgate refused or ended its session. */
export function refusalResponse(refusal: Refusal): Buffer {
  return fatalErrorResponse(REFUSAL_SQLSTATES[refusal.kind], `tollgate: ${refusal.message}`);
}

/** BackendKeyData's tag, as the watch reads tags: a byte. */
const BACKEND_KEY_DATA: number = BackendCode.BackendKeyData;

/** Largest start-up packet a client sends (the server's own limit is 10,000 bytes). */
const MAX_STARTUP_PACKET = 10_000;

/**
 * PostgreSQL's refusals: a FATAL ErrorResponse with a SQLSTATE (psql shows `FATAL:  tollgate: ...`),
 * said after the client's start-up packet (an SSLRequest or GSSENCRequest first is answered `N`),
 * and at the end of an open session wherever the client is between two server messages.
 */
export const postgresRefuser: ProtocolRefuser = {
  protocol: Protocol.POSTGRES,
  recognizes: recognizesPostgres,
  refuseOpening: (refusal) => refuseOpening(refusal),
  watch: () => new PostgresSessionWatch(),
};

/** Whether a client's first bytes are a PostgreSQL start-up packet (undefined: too few to tell). */
export function recognizesPostgres(opening: Buffer): boolean | undefined {
  if (opening.length < 4) return undefined;
  const length = opening.readInt32BE(0);
  if (length < 8 || length > MAX_STARTUP_PACKET) return false;
  if (opening.length < 8) return undefined;
  const code = opening.readInt32BE(4);
  if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) return length === 8;
  if (code === CANCEL_REQUEST_CODE) return length === 16;
  return code >> 16 === PROTOCOL_VERSION_3 >> 16;
}

function refuseOpening(refusal: Refusal): RefusalDialogue {
  const parser = new FrontendMessageParser();
  const refused = refusalResponse(refusal);
  return {
    receive(bytes) {
      const replies: Buffer[] = [];
      let done = false;
      try {
        // The parser stops after an SSLRequest/GSSENCRequest (the answer may switch to TLS); it
        // never does here, so go on with what is buffered.
        for (let chunk = bytes, again = true; again && !done; chunk = Buffer.alloc(0)) {
          again = false;
          parser.parse(chunk, (message) => {
            if (done) return;
            if (message.name === 'sslRequest' || message.name === 'gssEncRequest') {
              replies.push(Buffer.from('N'));
              again = true;
            } else done = true;
          });
        }
      } catch {
        // Not PostgreSQL as far as the parser can tell: say it anyway and close.
        done = true;
      }
      if (done) replies.push(refused);
      return { ...(replies.length > 0 ? { reply: Buffer.concat(replies) } : {}), done };
    },
  };
}

/**
 * Follows where an open session's client is in the protocol without decoding it: the client's
 * start-up packets (an SSLRequest is answered by one untagged byte), then the server's messages by
 * their length headers only. An ending can be said between two messages. With `onBackendKey`, the
 * key the client is given (BackendKeyData, the one body it reads) is reported, so that a
 * CancelRequest carrying it can be told apart.
 */
export class PostgresSessionWatch implements SessionWatch {
  private clientStarted = false;
  private readonly clientHeader = Buffer.alloc(8);
  private clientHeaderBytes = 0;
  private clientSkip = 0;
  /** One-byte answers to SSLRequest/GSSENCRequest the server still owes. */
  private answersDue = 0;
  private readonly serverHeader = Buffer.alloc(5);
  private serverHeaderBytes = 0;
  private serverSkip = 0;
  /** The stream stopped making sense (a length below 4): nothing can be said in protocol any more. */
  private lostTrack = false;
  /** BackendKeyData's body while it is read (how much of it is in `key`). */
  private readonly key = Buffer.alloc(8);
  private keyBytes: number | undefined;

  constructor(private readonly onBackendKey?: (processId: number, secretKey: number) => void) {}

  fromClient(bytes: Buffer): void {
    let offset = 0;
    while (!this.clientStarted && offset < bytes.length) {
      if (this.clientSkip > 0) {
        const n = Math.min(this.clientSkip, bytes.length - offset);
        this.clientSkip -= n;
        offset += n;
        continue;
      }
      const n = Math.min(8 - this.clientHeaderBytes, bytes.length - offset);
      bytes.copy(this.clientHeader, this.clientHeaderBytes, offset, offset + n);
      this.clientHeaderBytes += n;
      offset += n;
      if (this.clientHeaderBytes < 8) return;
      this.clientHeaderBytes = 0;
      const length = this.clientHeader.readInt32BE(0);
      const code = this.clientHeader.readInt32BE(4);
      if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) this.answersDue++;
      // After the StartupMessage the server's stream is tagged messages: the client side is done.
      else if (code >> 16 === PROTOCOL_VERSION_3 >> 16) this.clientStarted = true;
      this.clientSkip = Math.max(0, length - 8);
    }
  }

  toClient(bytes: Buffer): void {
    let offset = 0;
    while (!this.lostTrack && offset < bytes.length) {
      if (this.serverSkip > 0) {
        const n = Math.min(this.serverSkip, bytes.length - offset);
        if (this.keyBytes !== undefined) this.readKey(bytes, offset, n);
        this.serverSkip -= n;
        offset += n;
      } else if (this.answersDue > 0 && this.serverHeaderBytes === 0) {
        this.answersDue--;
        offset++;
      } else if (this.serverHeaderBytes === 0 && bytes.length - offset >= 5) {
        // The common case: a whole header in this chunk.
        this.startMessage(bytes[offset] as number, bytes.readInt32BE(offset + 1));
        offset += 5;
      } else {
        const n = Math.min(5 - this.serverHeaderBytes, bytes.length - offset);
        bytes.copy(this.serverHeader, this.serverHeaderBytes, offset, offset + n);
        this.serverHeaderBytes += n;
        offset += n;
        if (this.serverHeaderBytes === 5) {
          this.serverHeaderBytes = 0;
          this.startMessage(this.serverHeader[0] as number, this.serverHeader.readInt32BE(1));
        }
      }
    }
  }

  ending(refusal: Refusal): Buffer | undefined {
    const betweenMessages = this.serverHeaderBytes === 0 && this.serverSkip === 0;
    return !this.lostTrack && betweenMessages ? refusalResponse(refusal) : undefined;
  }

  private startMessage(code: number, length: number): void {
    if (length < 4) this.lostTrack = true;
    else this.serverSkip = length - 4;
    if (this.onBackendKey && code === BACKEND_KEY_DATA && length === 12) this.keyBytes = 0;
  }

  private readKey(bytes: Buffer, offset: number, n: number): void {
    const start = this.keyBytes ?? 0;
    bytes.copy(this.key, start, offset, offset + n);
    this.keyBytes = start + n;
    if (this.keyBytes < 8) return;
    this.keyBytes = undefined;
    this.onBackendKey?.(this.key.readInt32BE(0), this.key.readInt32BE(4));
  }
}
