// Hand-written fast path for the tunnel's data frames (everything else uses the generated code).
//
// A session's bytes travel as `data` StreamFrames inside each stream's envelope (ClientUp.frame = 2,
// ClientDown.frame = 2, SessionUp.frame = 3, SessionDown.frame = 1). The generated codecs copy a
// payload three times to encode it and once to decode it, at every hop; these helpers encode a data
// frame with one copy, decode it as a view of the received message, and let the gateway relay it
// without decoding at all: an envelope holding one data frame differs between the four streams only
// in its first byte (the field tag), so the gateway rewrites that byte and forwards the bytes.
import {
  makeGenericClientConstructor,
  type CallOptions,
  type ChannelCredentials,
  type Client,
  type ClientDuplexStream,
  type ClientOptions,
  type Metadata,
  type ServiceDefinition,
} from '@grpc/grpc-js';
import {
  AgentTunnelService,
  SessionDown,
  SessionUp,
  type AgentTunnelClient,
} from './generated/tollgate/v1/agent_tunnel';
import { ClientDown, ClientTunnelService, ClientUp } from './generated/tollgate/v1/client_tunnel';
import {
  GRPC_MESSAGE_PREFIX_BYTES,
  markGrpcPrefixRoom,
  markReceivedGrpcPrefixRoom,
} from './grpc-in-place-framing';

/** Field number of `frame` in each envelope message. */
export const ENVELOPE_FRAME_FIELD = {
  clientUp: 2,
  clientDown: 2,
  sessionUp: 3,
  sessionDown: 1,
} as const;

const LENGTH_DELIMITED = 2;
/** StreamFrame.data: field 1, length-delimited. */
const DATA_TAG = (1 << 3) | LENGTH_DELIMITED;

const varintSize = (value: number): number =>
  value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;

function writeVarint(target: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    target[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  target[offset++] = value;
  return offset;
}

/**
 * Encodes an envelope whose `frame` (field `field`, 1-15) is a data StreamFrame carrying the
 * concatenation of `chunks`, into one new Buffer: the bytes are copied once, and the caller may
 * reuse the chunks' memory afterwards. The buffer has room for the gRPC message prefix in front
 * and is marked so that grpc-js sends it without a second copy (grpc-in-place-framing.ts).
 */
export function encodeDataEnvelope(field: number, chunks: Buffer | readonly Buffer[]): Buffer {
  const parts = Buffer.isBuffer(chunks) ? [chunks] : chunks;
  let dataLength = 0;
  for (const part of parts) dataLength += part.length;
  const frameLength = 1 + varintSize(dataLength) + dataLength;
  const out = Buffer.allocUnsafe(
    GRPC_MESSAGE_PREFIX_BYTES + 1 + varintSize(frameLength) + frameLength,
  ).subarray(GRPC_MESSAGE_PREFIX_BYTES);
  out[0] = (field << 3) | LENGTH_DELIMITED;
  let offset = writeVarint(out, 1, frameLength);
  out[offset++] = DATA_TAG;
  offset = writeVarint(out, offset, dataLength);
  for (const part of parts) offset += part.copy(out, offset);
  return markGrpcPrefixRoom(out);
}

/** The most bytes a data envelope's header takes: tag, length, data tag, data length. */
const MAX_DATA_ENVELOPE_HEADER = 1 + 5 + 1 + 5;

/**
 * Bytes a reader leaves free in front of the data it reads, so a data envelope's header and the
 * gRPC message prefix can be written there instead of copying the data into new buffers.
 */
export const DATA_ENVELOPE_HEADROOM = MAX_DATA_ENVELOPE_HEADER + GRPC_MESSAGE_PREFIX_BYTES;

/**
 * Encodes a data envelope (`field`, 1-15) around `data` without copying it: the header is written
 * into the bytes in front of `data` within its buffer, which the caller owns (at least
 * DATA_ENVELOPE_HEADROOM of them) and hands over with `data`. The result is a view of that buffer,
 * marked so that grpc-js writes its message prefix in front of it too (grpc-in-place-framing.ts).
 */
export function encodeDataEnvelopeAround(field: number, data: Buffer): Buffer {
  const frameLength = 1 + varintSize(data.length) + data.length;
  const headerLength = 1 + varintSize(frameLength) + 1 + varintSize(data.length);
  if (data.byteOffset < headerLength) throw new RangeError('no room for the envelope in front of the data');
  const envelope = Buffer.from(data.buffer, data.byteOffset - headerLength, headerLength + data.length);
  envelope[0] = (field << 3) | LENGTH_DELIMITED;
  let offset = writeVarint(envelope, 1, frameLength);
  envelope[offset++] = DATA_TAG;
  writeVarint(envelope, offset, data.length);
  return markGrpcPrefixRoom(envelope);
}

/** Reads a varint of at most 32 bits; undefined when malformed or past `end`. */
function readVarint(bytes: Buffer, offset: number, end: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let shift = 0; shift < 35 && offset < end; shift += 7) {
    const byte = bytes[offset++];
    value += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) return value <= 0xffffffff ? { value, next: offset } : undefined;
  }
  return undefined;
}

/**
 * Where the payload starts when `bytes` is exactly one envelope whose `frame` (field `field`) is a
 * data StreamFrame and nothing else; -1 otherwise (other messages, or anything unusual, such as
 * unknown or repeated fields, goes through the generated decoder).
 */
export function dataEnvelopeOffset(bytes: Buffer, field: number): number {
  if (bytes.length < 4 || bytes[0] !== ((field << 3) | LENGTH_DELIMITED)) return -1;
  const frame = readVarint(bytes, 1, bytes.length);
  if (!frame || frame.next + frame.value !== bytes.length || bytes[frame.next] !== DATA_TAG) return -1;
  const data = readVarint(bytes, frame.next + 1, bytes.length);
  if (!data || data.next + data.value !== bytes.length) return -1;
  return data.next;
}

/** The payload of an encoded data envelope (a view, not a copy); undefined if it is not one. */
export function dataEnvelopePayload(bytes: Buffer, field: number): Buffer | undefined {
  const offset = dataEnvelopeOffset(bytes, field);
  return offset < 0 ? undefined : bytes.subarray(offset);
}

/**
 * A data frame the gateway relays as received: the whole envelope, encoded. Sending it on another
 * stream rewrites the envelope's field tag (one byte, in place; the gateway owns these bytes).
 */
export class RelayedFrame {
  constructor(readonly bytes: Buffer) {}

  /** The envelope for stream field `field` (same bytes, tag rewritten). */
  as(field: number): Buffer {
    this.bytes[0] = (field << 3) | LENGTH_DELIMITED;
    return this.bytes;
  }
}

/** What the generated encoders return, as a Buffer without copying. */
const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Decodes an envelope, taking a data frame's payload as a view of the message instead of a copy. */
function decoder<T>(
  field: number,
  decode: (bytes: Buffer) => T,
  dataMessage: (data: Buffer) => T,
): (bytes: Buffer) => T {
  return (bytes) => {
    const offset = dataEnvelopeOffset(bytes, field);
    return offset < 0 ? decode(bytes) : dataMessage(bytes.subarray(offset));
  };
}

const clientDownData = (data: Buffer): ClientDown => ({
  kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } },
});
const sessionDownData = (data: Buffer): SessionDown => ({
  kind: { $case: 'frame', frame: { kind: { $case: 'data', data } } },
});

/**
 * ClientTunnel for the CLI: a ClientUp may also be written pre-encoded (`encodeDataEnvelope`), and
 * data frames are read without a copy.
 */
export const ClientTunnelWire = {
  open: {
    ...ClientTunnelService.open,
    requestSerialize: (value: ClientUp | Buffer): Buffer =>
      Buffer.isBuffer(value) ? value : asBuffer(ClientUp.encode(value).finish()),
    responseDeserialize: decoder(
      ENVELOPE_FRAME_FIELD.clientDown,
      (b) => ClientDown.decode(b),
      clientDownData,
    ),
  },
} satisfies ServiceDefinition;

/** AgentTunnel for the agent: the same fast path on Session streams. */
export const AgentTunnelWire = {
  control: AgentTunnelService.control,
  journal: AgentTunnelService.journal,
  session: {
    ...AgentTunnelService.session,
    requestSerialize: (value: SessionUp | Buffer): Buffer =>
      Buffer.isBuffer(value) ? value : asBuffer(SessionUp.encode(value).finish()),
    responseDeserialize: decoder(
      ENVELOPE_FRAME_FIELD.sessionDown,
      (b) => SessionDown.decode(b),
      sessionDownData,
    ),
  },
} satisfies ServiceDefinition;

/** A ClientTunnel client on ClientTunnelWire: `open` streams also take pre-encoded ClientUps. */
export interface ClientTunnelWireClient extends Client {
  open(metadata: Metadata, options?: Partial<CallOptions>): ClientDuplexStream<ClientUp | Buffer, ClientDown>;
}

export const ClientTunnelWireClient = makeGenericClientConstructor(
  ClientTunnelWire,
  'tollgate.v1.ClientTunnel',
) as unknown as new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ClientOptions>,
) => ClientTunnelWireClient;

/** An AgentTunnel client on AgentTunnelWire: `session` streams also take pre-encoded SessionUps. */
export interface AgentTunnelWireClient extends Client {
  control: AgentTunnelClient['control'];
  journal: AgentTunnelClient['journal'];
  session(
    metadata: Metadata,
    options?: Partial<CallOptions>,
  ): ClientDuplexStream<SessionUp | Buffer, SessionDown>;
}

export const AgentTunnelWireClient = makeGenericClientConstructor(
  AgentTunnelWire,
  'tollgate.v1.AgentTunnel',
) as unknown as new (
  address: string,
  credentials: ChannelCredentials,
  options?: Partial<ClientOptions>,
) => AgentTunnelWireClient;

/** Relays data frames as bytes: decodes (and encodes) only the other messages. */
function relayDecoder<T>(field: number, decode: (bytes: Buffer) => T): (bytes: Buffer) => T | RelayedFrame {
  return (bytes) =>
    dataEnvelopeOffset(bytes, field) < 0
      ? decode(bytes)
      : new RelayedFrame(markReceivedGrpcPrefixRoom(bytes));
}

function relayEncoder<T>(
  field: number,
  encode: (value: T) => Uint8Array,
): (value: T | RelayedFrame) => Buffer {
  return (value) => (value instanceof RelayedFrame ? value.as(field) : asBuffer(encode(value)));
}

/** ClientTunnel as the gateway serves it: data frames arrive and leave as RelayedFrame. */
export const ClientTunnelRelayWire = {
  open: {
    ...ClientTunnelService.open,
    requestDeserialize: relayDecoder(ENVELOPE_FRAME_FIELD.clientUp, (b) => ClientUp.decode(b)),
    responseSerialize: relayEncoder(ENVELOPE_FRAME_FIELD.clientDown, (m: ClientDown) =>
      ClientDown.encode(m).finish(),
    ),
  },
} satisfies ServiceDefinition;

/** AgentTunnel as the gateway serves it: Session data frames arrive and leave as RelayedFrame. */
export const AgentTunnelRelayWire = {
  control: AgentTunnelService.control,
  journal: AgentTunnelService.journal,
  session: {
    ...AgentTunnelService.session,
    requestDeserialize: relayDecoder(ENVELOPE_FRAME_FIELD.sessionUp, (b) => SessionUp.decode(b)),
    responseSerialize: relayEncoder(ENVELOPE_FRAME_FIELD.sessionDown, (m: SessionDown) =>
      SessionDown.encode(m).finish(),
    ),
  },
} satisfies ServiceDefinition;
