import { MysqlProtocolError } from './protocol-error';

/** A physical packet carries at most this many payload bytes; a full one is continued by the next. */
export const MAX_PACKET_PAYLOAD = 0xffffff;
/** The largest logical packet accepted by default: the server's own max_allowed_packet ceiling (1 GiB). */
export const DEFAULT_MAX_LOGICAL_PACKET = 1024 * 1024 * 1024;

/** One logical packet: the payloads of a full packet and its continuations joined. */
export interface MysqlPacket {
  /** Sequence id of the first physical packet. */
  readonly sequenceId: number;
  /** How many physical packets carried it (1 unless the payload is 16 MiB - 1 bytes or more). */
  readonly parts: number;
  readonly payload: Buffer;
}

/**
 * Splits a byte stream into logical MySQL packets without doing I/O: `parse(chunk, emit)` keeps the
 * partial packet it holds between calls, so the same bytes split anywhere give the same packets.
 * Physical packets of 0xFFFFFF bytes are joined with what follows them (packets of 16 MiB and more).
 */
export class PacketReader {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private parts: Buffer[] = [];
  private partsBytes = 0;
  private partCount = 0;
  private firstSequence = 0;

  constructor(private readonly maxPacket = DEFAULT_MAX_LOGICAL_PACKET) {}

  /** Bytes held that do not yet make a whole logical packet. */
  get pendingBytes(): number {
    return this.bufferedBytes + this.partsBytes;
  }

  /** Takes the bytes held that are not a whole packet yet (before the stream changes hands, e.g. to TLS). */
  takePending(): Buffer {
    const pending = Buffer.concat(this.buffered);
    this.buffered = [];
    this.bufferedBytes = 0;
    return pending;
  }

  parse(chunk: Buffer, emit: (packet: MysqlPacket) => void): void {
    if (chunk.length > 0) {
      this.buffered.push(chunk);
      this.bufferedBytes += chunk.length;
    }
    for (;;) {
      if (this.bufferedBytes < 4) return;
      let first = this.buffered[0] as Buffer;
      if (first.length < 4) first = this.joinFront(4);
      const length = first[0]! | (first[1]! << 8) | (first[2]! << 16);
      const sequenceId = first[3] as number;
      if (this.partsBytes + length > this.maxPacket) {
        throw new MysqlProtocolError(
          'too-large',
          `a packet of more than ${this.maxPacket} bytes (the limit for this session)`,
        );
      }
      // Wait for the whole packet before joining chunks: joining at every chunk of a 16 MiB packet
      // would copy it hundreds of times.
      if (this.bufferedBytes < 4 + length) return;
      // A packet within the first chunk is a view of it; one that spans chunks is joined alone (the
      // chunk it ends in stays a view from there on, not copied with it).
      if (first.length < 4 + length) first = this.joinFront(4 + length);
      const payload = first.subarray(4, 4 + length);
      if (first.length === 4 + length) this.buffered.shift();
      else this.buffered[0] = first.subarray(4 + length);
      this.bufferedBytes -= 4 + length;
      if (this.partCount === 0) this.firstSequence = sequenceId;
      this.partCount++;
      if (length === MAX_PACKET_PAYLOAD) {
        this.parts.push(payload);
        this.partsBytes += length;
        continue;
      }
      // Payloads are views of the chunks given to parse(): callers must not reuse a chunk's memory.
      const whole = this.parts.length === 0 ? payload : Buffer.concat([...this.parts, payload]);
      const packet = { sequenceId: this.firstSequence, parts: this.partCount, payload: whole };
      this.parts = [];
      this.partsBytes = 0;
      this.partCount = 0;
      emit(packet);
    }
  }

  /** Joins the first `bytes` held into one buffer at the front (they span chunks); the rest stay views. */
  private joinFront(bytes: number): Buffer {
    const joined = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.buffered[0] as Buffer;
      const take = Math.min(chunk.length, bytes - filled);
      chunk.copy(joined, filled, 0, take);
      filled += take;
      if (take === chunk.length) this.buffered.shift();
      else this.buffered[0] = chunk.subarray(take);
    }
    this.buffered.unshift(joined);
    return joined;
  }
}

/**
 * Frames a logical packet as physical packets (splitting at 0xFFFFFF bytes, with an empty packet
 * after a payload that is an exact multiple), numbered from `sequenceId`. Returns the bytes and the
 * next sequence id.
 */
export function framePacket(payload: Buffer, sequenceId: number): { bytes: Buffer; next: number } {
  return framePackets([payload], sequenceId);
}

/**
 * Frames several logical packets, numbered on from `sequenceId`, into one buffer (from `allocate`):
 * one allocation and one copy of each payload however many packets (a result's rows go to the client
 * this way).
 */
export function framePackets(
  payloads: readonly Buffer[],
  sequenceId: number,
  allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size),
): { bytes: Buffer; next: number } {
  let size = 0;
  for (const payload of payloads) {
    // A header per physical packet: one per MAX_PACKET_PAYLOAD bytes, and one more (possibly for an
    // empty packet) after the last whole one.
    size += payload.length + 4 * (Math.floor(payload.length / MAX_PACKET_PAYLOAD) + 1);
  }
  const bytes = allocate(size);
  let at = 0;
  let seq = sequenceId;
  for (const payload of payloads) {
    let offset = 0;
    for (;;) {
      const length = Math.min(MAX_PACKET_PAYLOAD, payload.length - offset);
      bytes.writeUIntLE(length, at, 3);
      bytes[at + 3] = seq & 0xff;
      seq = (seq + 1) & 0xff;
      payload.copy(bytes, at + 4, offset, offset + length);
      at += 4 + length;
      offset += length;
      if (length < MAX_PACKET_PAYLOAD) break;
    }
  }
  return { bytes, next: seq };
}
