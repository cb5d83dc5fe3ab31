/**
 * The wire format of Tollgate's SSH channel multiplexer: how the SSH side facing the user (the
 * gateway's listener, `tollgate connect`, `tollgate exec`) and the agent's SSH engine talk inside a
 * session's byte stream. It carries what an SSH connection carries between the two (channel opens,
 * requests, data, stderr, flow-control windows, EOF, close, exit status or signal, global forwarding
 * requests) as plain frames, so the bytes are encrypted and decrypted by SSH only where a real SSH
 * peer is (the user's client, the target's sshd); the session stream itself is the agent's
 * authenticated tunnel.
 *
 * Every frame: u32 length (of what follows), u8 type, u32 channel (or request number), payload.
 * Structured payloads are JSON objects, each checked here; a frame that is not one of these is a
 * MuxFrameError and ends the session (fail closed). This file does no I/O.
 */

/** The protocol name and version each side sends first. */
export const MUX_HELLO = 'tollgate-ssh-mux/1';
/** Bytes of data one frame carries at most (and of a structured payload). */
export const MAX_FRAME_PAYLOAD = 64 * 1024;
/** Type and channel: the bytes every frame has after its length. */
const HEADER = 5;
const MAX_FRAME_LENGTH = HEADER + MAX_FRAME_PAYLOAD;

export enum FrameType {
  Hello = 1,
  Open = 2,
  OpenOk = 3,
  OpenFail = 4,
  Data = 5,
  Stderr = 6,
  Window = 7,
  Eof = 8,
  Close = 9,
  Request = 10,
  Global = 11,
  GlobalReply = 12,
}

const KNOWN_TYPES: ReadonlySet<number> = new Set(
  Object.values(FrameType).filter((value): value is number => typeof value === 'number'),
);

/** What a channel is opened for (the SSH channel type and what its first request asked). */
export type OpenSpec =
  | {
      readonly kind: 'session';
      readonly request:
        | { readonly type: 'shell' }
        | { readonly type: 'exec'; readonly command: string }
        | { readonly type: 'subsystem'; readonly name: string };
      readonly pty?: PtySpec;
      readonly env: Readonly<Record<string, string>>;
    }
  | {
      readonly kind: 'direct-tcpip' | 'forwarded-tcpip';
      readonly srcIP: string;
      readonly srcPort: number;
      readonly destIP: string;
      readonly destPort: number;
    };

export interface PtySpec {
  readonly term: string;
  readonly cols: number;
  readonly rows: number;
  readonly width: number;
  readonly height: number;
  /** Terminal modes as ssh2 reports them (name to value). */
  readonly modes: Readonly<Record<string, number>>;
}

/** Requests on an open channel. */
export type ChannelRequest =
  | {
      readonly type: 'window-change';
      readonly cols: number;
      readonly rows: number;
      readonly width: number;
      readonly height: number;
    }
  | { readonly type: 'signal'; readonly name: string }
  | { readonly type: 'exit-status'; readonly code: number }
  | {
      readonly type: 'exit-signal';
      readonly signal: string;
      readonly coreDumped: boolean;
      readonly description: string;
    };

/**
 * Forwarding the user's side refuses itself, because it cannot be relayed from there (X11, agent
 * forwarding and Unix sockets need a listener on the client's side); it is told to the agent's engine,
 * which audits the attempt as if the client had asked it.
 */
export type RefusedForwarding =
  | { readonly kind: 'x11' }
  | { readonly kind: 'auth-agent' }
  | { readonly kind: 'streamlocal'; readonly path: string };

export type GlobalRequest =
  | { readonly type: 'tcpip-forward'; readonly host: string; readonly port: number }
  | { readonly type: 'refused-forwarding'; readonly forwarding: RefusedForwarding };
export type GlobalReply = { readonly ok: true; readonly port: number } | { readonly ok: false };

export type Frame =
  | { readonly type: FrameType.Hello; readonly channel: number; readonly version: string }
  | { readonly type: FrameType.Open; readonly channel: number; readonly open: OpenSpec }
  | { readonly type: FrameType.OpenOk; readonly channel: number }
  | { readonly type: FrameType.OpenFail; readonly channel: number; readonly message: string }
  | { readonly type: FrameType.Data | FrameType.Stderr; readonly channel: number; readonly data: Buffer }
  | { readonly type: FrameType.Window; readonly channel: number; readonly bytes: number }
  | { readonly type: FrameType.Eof | FrameType.Close; readonly channel: number }
  | { readonly type: FrameType.Request; readonly channel: number; readonly request: ChannelRequest }
  | { readonly type: FrameType.Global; readonly channel: number; readonly request: GlobalRequest }
  | { readonly type: FrameType.GlobalReply; readonly channel: number; readonly reply: GlobalReply };

/** A frame that is not Tollgate's SSH multiplexer speaking: the session ends with this message. */
export class MuxFrameError extends Error {
  override readonly name = 'MuxFrameError';
}

/** The header of a frame whose payload the caller writes after it (data: no copy of the bytes). */
export function frameHeader(type: FrameType, channel: number, payloadLength: number): Buffer {
  if (payloadLength > MAX_FRAME_PAYLOAD)
    throw new RangeError(`a frame carries at most ${MAX_FRAME_PAYLOAD} bytes`);
  const header = Buffer.allocUnsafe(4 + HEADER);
  header.writeUInt32BE(HEADER + payloadLength, 0);
  header.writeUInt8(type, 4);
  header.writeUInt32BE(channel >>> 0, 5);
  return header;
}

/** A whole frame: header and payload in one buffer. */
export function encodeFrame(frame: Frame): Buffer {
  const payload = framePayload(frame);
  return Buffer.concat([frameHeader(frame.type, frame.channel, payload.length), payload]);
}

function framePayload(frame: Frame): Buffer {
  switch (frame.type) {
    case FrameType.Hello:
      return Buffer.from(frame.version, 'utf8');
    case FrameType.Open:
      return json(frame.open);
    case FrameType.OpenFail:
      return Buffer.from(frame.message.slice(0, 4096), 'utf8');
    case FrameType.Data:
    case FrameType.Stderr:
      return frame.data;
    case FrameType.Window: {
      const bytes = Buffer.allocUnsafe(4);
      bytes.writeUInt32BE(frame.bytes, 0);
      return bytes;
    }
    case FrameType.OpenOk:
    case FrameType.Eof:
    case FrameType.Close:
      return Buffer.alloc(0);
    case FrameType.Request:
    case FrameType.Global:
      return json(frame.request);
    case FrameType.GlobalReply:
      return json(frame.reply);
  }
}

function json(value: unknown): Buffer {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  if (bytes.length > MAX_FRAME_PAYLOAD) throw new RangeError('a request is larger than a frame carries');
  return bytes;
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads frames from the session stream's chunks as they arrive (any split). A frame that lies within
 * one chunk is a view of it (its bytes are not copied); one that spans chunks is joined first, so
 * each data frame reaches the SSH side whole (a frame cut in two would cost two SSH packets, each
 * dearer than the copy).
 */
export class FrameReader {
  private readonly header = Buffer.alloc(4 + HEADER);
  private headerFill = 0;
  private started = false;
  private type: FrameType = FrameType.Hello;
  private channel = 0;
  /** Payload bytes of the current frame still to come; -1 between frames. */
  private remaining = -1;
  private parts: Buffer[] = [];

  /** The frames (and data pieces) in `chunk`, in order; throws MuxFrameError at the first bad one. */
  push(chunk: Buffer): Frame[] {
    const frames: Frame[] = [];
    let offset = 0;
    for (;;) {
      if (this.remaining < 0) {
        if (this.headerFill === 0 && chunk.length - offset >= this.header.length) {
          this.startFrame(
            chunk.readUInt32BE(offset),
            chunk.readUInt8(offset + 4),
            chunk.readUInt32BE(offset + 5),
            chunk,
            offset,
          );
          offset += this.header.length;
        } else {
          const copied = chunk.copy(this.header, this.headerFill, offset);
          offset += copied;
          this.headerFill += copied;
          if (this.headerFill >= 4) this.checkLength(this.header.readUInt32BE(0), this.header);
          if (this.headerFill < this.header.length) return frames;
          this.startFrame(
            this.header.readUInt32BE(0),
            this.header.readUInt8(4),
            this.header.readUInt32BE(5),
            this.header,
            0,
          );
          this.headerFill = 0;
        }
      }
      const take = Math.min(this.remaining, chunk.length - offset);
      if (take > 0) {
        this.parts.push(chunk.subarray(offset, offset + take));
        offset += take;
        this.remaining -= take;
      }
      if (this.remaining > 0) return frames;
      const payload =
        this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts.length ? this.parts : [EMPTY]);
      this.parts = [];
      frames.push(decodeFrame(this.type, this.channel, payload));
      this.remaining = -1;
      if (offset >= chunk.length) return frames;
    }
  }

  private checkLength(length: number, bytes: Buffer): void {
    if (length >= HEADER && length <= MAX_FRAME_LENGTH) return;
    // An SSH identification line where frames belong: one side is older than the other.
    if (!this.started && bytes.subarray(0, 4).toString('latin1') === 'SSH-') {
      throw new MuxFrameError(
        "the other side speaks SSH on the session stream, not Tollgate's SSH channel protocol: " +
          'the gateway, agent and tollgate CLI must be upgraded together',
      );
    }
    throw new MuxFrameError(`bad frame: length ${length} is outside ${HEADER}..${MAX_FRAME_LENGTH}`);
  }

  private startFrame(length: number, type: number, channel: number, bytes: Buffer, at: number): void {
    this.checkLength(length, bytes.subarray(at));
    if (!KNOWN_TYPES.has(type)) throw new MuxFrameError(`bad frame: unknown type ${type}`);
    this.started = true;
    this.type = type;
    this.channel = channel;
    this.remaining = length - HEADER;
  }
}

function decodeFrame(type: FrameType, channel: number, payload: Buffer): Frame {
  const empty = () => {
    if (payload.length !== 0) throw new MuxFrameError(`bad frame: type ${type} carries no payload`);
  };
  switch (type) {
    case FrameType.Hello:
      return { type, channel, version: payload.toString('utf8') };
    case FrameType.Open:
      return { type, channel, open: openSpec(parse(payload, 'open')) };
    case FrameType.OpenOk:
      empty();
      return { type, channel };
    case FrameType.OpenFail:
      return { type, channel, message: payload.toString('utf8') };
    case FrameType.Data:
    case FrameType.Stderr:
      return { type, channel, data: payload };
    case FrameType.Window:
      if (payload.length !== 4) throw new MuxFrameError('bad frame: a window frame carries 4 bytes');
      return { type, channel, bytes: payload.readUInt32BE(0) };
    case FrameType.Eof:
    case FrameType.Close:
      empty();
      return { type, channel };
    case FrameType.Request:
      return { type, channel, request: channelRequest(parse(payload, 'request')) };
    case FrameType.Global:
      return { type, channel, request: globalRequest(parse(payload, 'global request')) };
    case FrameType.GlobalReply:
      return { type, channel, reply: globalReply(parse(payload, 'global reply')) };
    default:
      throw new MuxFrameError(`bad frame: unknown type ${type as number}`);
  }
}

type Json = Record<string, unknown>;

function parse(payload: Buffer, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new MuxFrameError(`bad frame: the ${what} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MuxFrameError(`bad frame: the ${what} is not an object`);
  return value as Json;
}

function str(object: Json, key: string): string {
  const value = object[key];
  if (typeof value !== 'string') throw new MuxFrameError(`bad frame: "${key}" is not a string`);
  return value;
}

function uint(object: Json, key: string, max = 0xffffffff): number {
  const value = object[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max)
    throw new MuxFrameError(`bad frame: "${key}" is not an integer in 0..${max}`);
  return value;
}

function record<T>(object: Json, key: string, check: (value: unknown) => value is T): Record<string, T> {
  const value = object[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MuxFrameError(`bad frame: "${key}" is not an object`);
  for (const [name, item] of Object.entries(value)) {
    if (!check(item)) throw new MuxFrameError(`bad frame: "${key}.${name}" has the wrong type`);
  }
  return value as Record<string, T>;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isNumber = (value: unknown): value is number => typeof value === 'number';

function openSpec(object: Json): OpenSpec {
  const kind = object['kind'];
  if (kind === 'direct-tcpip' || kind === 'forwarded-tcpip') {
    return {
      kind,
      srcIP: str(object, 'srcIP'),
      srcPort: uint(object, 'srcPort', 65535),
      destIP: str(object, 'destIP'),
      destPort: uint(object, 'destPort', 65535),
    };
  }
  if (kind !== 'session') throw new MuxFrameError(`bad frame: unknown channel kind ${JSON.stringify(kind)}`);
  const request = object['request'];
  if (typeof request !== 'object' || request === null)
    throw new MuxFrameError('bad frame: "request" is missing');
  const asked = request as Json;
  const type = asked['type'];
  const parsed =
    type === 'shell'
      ? ({ type } as const)
      : type === 'exec'
        ? ({ type, command: str(asked, 'command') } as const)
        : type === 'subsystem'
          ? ({ type, name: str(asked, 'name') } as const)
          : undefined;
  if (!parsed) throw new MuxFrameError(`bad frame: unknown session request ${JSON.stringify(type)}`);
  const env = record(object, 'env', isString);
  if (object['pty'] === undefined) return { kind, request: parsed, env };
  const ptyObject = object['pty'];
  if (typeof ptyObject !== 'object' || ptyObject === null)
    throw new MuxFrameError('bad frame: "pty" is not an object');
  const pty = ptyObject as Json;
  return {
    kind,
    request: parsed,
    env,
    pty: {
      term: str(pty, 'term'),
      cols: uint(pty, 'cols'),
      rows: uint(pty, 'rows'),
      width: uint(pty, 'width'),
      height: uint(pty, 'height'),
      modes: record(pty, 'modes', isNumber),
    },
  };
}

function channelRequest(object: Json): ChannelRequest {
  switch (object['type']) {
    case 'window-change':
      return {
        type: 'window-change',
        cols: uint(object, 'cols'),
        rows: uint(object, 'rows'),
        width: uint(object, 'width'),
        height: uint(object, 'height'),
      };
    case 'signal':
      return { type: 'signal', name: str(object, 'name') };
    case 'exit-status':
      return { type: 'exit-status', code: uint(object, 'code') };
    case 'exit-signal': {
      const coreDumped = object['coreDumped'];
      if (typeof coreDumped !== 'boolean')
        throw new MuxFrameError('bad frame: "coreDumped" is not a boolean');
      return {
        type: 'exit-signal',
        signal: str(object, 'signal'),
        coreDumped,
        description: str(object, 'description'),
      };
    }
    default:
      throw new MuxFrameError(`bad frame: unknown channel request ${JSON.stringify(object['type'])}`);
  }
}

function globalRequest(object: Json): GlobalRequest {
  if (object['type'] === 'tcpip-forward')
    return { type: 'tcpip-forward', host: str(object, 'host'), port: uint(object, 'port', 65535) };
  if (object['type'] === 'refused-forwarding') {
    const forwarding = object['forwarding'];
    if (typeof forwarding !== 'object' || forwarding === null || Array.isArray(forwarding))
      throw new MuxFrameError('bad frame: "forwarding" is not an object');
    const kind = (forwarding as Json)['kind'];
    if (kind === 'x11' || kind === 'auth-agent') return { type: 'refused-forwarding', forwarding: { kind } };
    if (kind === 'streamlocal')
      return {
        type: 'refused-forwarding',
        forwarding: { kind, path: str(forwarding as Json, 'path') },
      };
    throw new MuxFrameError(`bad frame: unknown refused forwarding ${JSON.stringify(kind)}`);
  }
  throw new MuxFrameError(`bad frame: unknown global request ${JSON.stringify(object['type'])}`);
}

function globalReply(object: Json): GlobalReply {
  if (object['ok'] === true) return { ok: true, port: uint(object, 'port', 65535) };
  if (object['ok'] === false) return { ok: false };
  throw new MuxFrameError('bad frame: "ok" is not a boolean');
}
