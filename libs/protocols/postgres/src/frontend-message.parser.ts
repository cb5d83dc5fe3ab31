import { BufferReader } from './buffer-reader';
import { ChunkQueue } from './chunk-queue';
import {
  DEFAULT_MAX_MESSAGE_LENGTH,
  printable,
  TaggedFrameReader,
  UntaggedFrameReader,
  type TaggedFrame,
} from './frame-reader';
import type { FrontendMessage, StartupPacket } from './frontend-messages';
import {
  CANCEL_REQUEST_CODE,
  FrontendCode,
  GSSENC_REQUEST_CODE,
  PROTOCOL_VERSION_3,
  SSL_REQUEST_CODE,
} from './message-codes';
import { PostgresProtocolError } from './protocol-error';

export type FrontendMessageCallback = (message: StartupPacket | FrontendMessage, frame: Buffer) => void;

/**
 * Parses what a PostgreSQL client sends: first the untagged start-up packets (SSLRequest,
 * GSSENCRequest, CancelRequest, StartupMessage), then tagged messages. No I/O: feed it chunks.
 */
export class FrontendMessageParser {
  private readonly queue = new ChunkQueue();
  private readonly startup: UntaggedFrameReader;
  private readonly tagged: TaggedFrameReader;
  private phase: 'startup' | 'messages' | 'ended' = 'startup';

  constructor(options: { maxMessageLength?: number } = {}) {
    this.startup = new UntaggedFrameReader(this.queue);
    this.tagged = new TaggedFrameReader(options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH, this.queue);
  }

  parse(chunk: Buffer, callback: FrontendMessageCallback): void {
    this.queue.push(chunk);
    for (;;) {
      if (this.phase === 'startup') {
        const packet = this.startup.next();
        if (!packet) return;
        const message = parseStartupPacket(packet);
        if (message.name === 'startupMessage') this.phase = 'messages';
        if (message.name === 'cancelRequest') this.phase = 'ended';
        callback(message, packet);
        // After SSLRequest/GSSENCRequest the caller answers and may switch the socket to TLS; it must
        // not feed encrypted bytes here. Stop so it can take anything already buffered with drain().
        if (message.name === 'sslRequest' || message.name === 'gssEncRequest') return;
      } else if (this.phase === 'messages') {
        const next = this.tagged.next();
        if (!next) return;
        callback(parseFrontendFrame(next), next.frame);
      } else {
        if (this.queue.length > 0) throw new PostgresProtocolError('malformed', 'data after CancelRequest');
        return;
      }
    }
  }

  /** Whether start-up is over (a StartupMessage was seen). */
  get started(): boolean {
    return this.phase === 'messages';
  }

  /** Takes the bytes not yet parsed (e.g. a TLS ClientHello pipelined after SSLRequest). */
  drain(): Buffer {
    return this.queue.drain();
  }
}

export function parseStartupPacket(packet: Buffer): StartupPacket {
  const r = new BufferReader(packet, 4, packet.length, 'start-up packet');
  const code = r.int32();
  switch (code) {
    case SSL_REQUEST_CODE:
      r.expectEnd();
      return { name: 'sslRequest' };
    case GSSENC_REQUEST_CODE:
      r.expectEnd();
      return { name: 'gssEncRequest' };
    case CANCEL_REQUEST_CODE: {
      const message = { name: 'cancelRequest' as const, processId: r.int32(), secretKey: r.int32() };
      r.expectEnd();
      return message;
    }
    default: {
      if (code >> 16 !== PROTOCOL_VERSION_3 >> 16) {
        throw new PostgresProtocolError(
          'unknown_message',
          `unsupported frontend protocol ${code >> 16}.${code & 0xffff}: server supports 3.0`,
        );
      }
      const parameters: Record<string, string> = {};
      for (let key = r.cstring(); key !== ''; key = r.cstring()) parameters[key] = r.cstring();
      r.expectEnd();
      return { name: 'startupMessage', protocolVersion: code, parameters };
    }
  }
}

export function parseFrontendFrame({ code, frame }: TaggedFrame): FrontendMessage {
  const r = new BufferReader(frame, 5, frame.length, `client message '${printable(code)}'`);
  const message = parseBody(code, r);
  r.expectEnd();
  return message;
}

function parseBody(code: number, r: BufferReader): FrontendMessage {
  switch (code as FrontendCode) {
    case FrontendCode.Query:
      return { name: 'query', text: r.cstring() };
    case FrontendCode.Parse: {
      const statement = r.cstring();
      const text = r.cstring();
      const count = r.count(r.int16(), 4);
      const parameterTypeIds: number[] = [];
      for (let i = 0; i < count; i++) parameterTypeIds.push(r.uint32());
      return { name: 'parse', statement, text, parameterTypeIds };
    }
    case FrontendCode.Bind: {
      const portal = r.cstring();
      const statement = r.cstring();
      const parameterFormats = int16List(r);
      const count = r.count(r.int16(), 4);
      const parameters: (Buffer | null)[] = [];
      for (let i = 0; i < count; i++) parameters.push(r.nullableBytes());
      const resultFormats = int16List(r);
      return { name: 'bind', portal, statement, parameterFormats, parameters, resultFormats };
    }
    case FrontendCode.Describe:
      return { name: 'describe', target: statementOrPortal(r.byte()), objectName: r.cstring() };
    case FrontendCode.Execute:
      return { name: 'execute', portal: r.cstring(), maxRows: r.int32() };
    case FrontendCode.Sync:
      return { name: 'sync' };
    case FrontendCode.Flush:
      return { name: 'flush' };
    case FrontendCode.Close:
      return { name: 'close', target: statementOrPortal(r.byte()), objectName: r.cstring() };
    case FrontendCode.Terminate:
      return { name: 'terminate' };
    case FrontendCode.CopyData:
      return { name: 'copyData', data: r.rest() };
    case FrontendCode.CopyDone:
      return { name: 'copyDone' };
    case FrontendCode.CopyFail:
      return { name: 'copyFail', message: r.cstring() };
    case FrontendCode.AuthenticationResponse:
      return { name: 'authenticationResponse', data: r.rest() };
    case FrontendCode.FunctionCall: {
      const functionId = r.uint32();
      const argumentFormats = int16List(r);
      const count = r.count(r.int16(), 4);
      const args: (Buffer | null)[] = [];
      for (let i = 0; i < count; i++) args.push(r.nullableBytes());
      return { name: 'functionCall', functionId, argumentFormats, arguments: args, resultFormat: r.int16() };
    }
    default:
      throw new PostgresProtocolError('unknown_message', `unknown client message type '${printable(code)}'`);
  }
}

function int16List(r: BufferReader): number[] {
  const count = r.count(r.int16(), 2);
  const values: number[] = [];
  for (let i = 0; i < count; i++) values.push(r.int16());
  return values;
}

function statementOrPortal(byte: number): 'S' | 'P' {
  if (byte === 0x53) return 'S';
  if (byte === 0x50) return 'P';
  throw new PostgresProtocolError('malformed', `expected 'S' or 'P', got '${printable(byte)}'`);
}
