import { ChunkQueue } from './chunk-queue';
import { PostgresProtocolError } from './protocol-error';

/** PostgreSQL limits a single message to 1 GiB; a proxy may set a lower bound. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 1024 * 1024 * 1024;

export interface TaggedFrame {
  readonly code: number;
  /** The whole frame: type byte, Int32 length, body. Relayed as is when not rewritten. */
  readonly frame: Buffer;
}

/** Splits a byte stream into tagged frames (type byte + Int32 length counting itself + body). */
export class TaggedFrameReader {
  constructor(
    private readonly maxMessageLength = DEFAULT_MAX_MESSAGE_LENGTH,
    private readonly queue = new ChunkQueue(),
  ) {}

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  get buffered(): number {
    return this.queue.length;
  }

  /** The next complete frame, or undefined until more bytes arrive. Throws on an impossible length. */
  next(): TaggedFrame | undefined {
    if (this.queue.length < 5) return undefined;
    const code = this.queue.peekByte(0);
    const length = this.queue.peekInt32(1);
    if (length < 4)
      throw new PostgresProtocolError('invalid_length', `message '${printable(code)}' has length ${length}`);
    if (length > this.maxMessageLength) {
      throw new PostgresProtocolError(
        'message_too_large',
        `message '${printable(code)}' of ${length} bytes exceeds the limit of ${this.maxMessageLength}`,
      );
    }
    if (this.queue.length < length + 1) return undefined;
    return { code, frame: this.queue.take(length + 1) };
  }

  drain(): Buffer {
    return this.queue.drain();
  }
}

/** Splits the start-up phase's untagged packets (Int32 length counting itself + body). */
export class UntaggedFrameReader {
  constructor(
    private readonly queue: ChunkQueue,
    private readonly maxPacketLength = 10_000,
  ) {}

  next(): Buffer | undefined {
    if (this.queue.length < 4) return undefined;
    const length = this.queue.peekInt32(0);
    if (length < 8) throw new PostgresProtocolError('invalid_length', `start-up packet has length ${length}`);
    if (length > this.maxPacketLength) {
      throw new PostgresProtocolError(
        'message_too_large',
        `start-up packet of ${length} bytes exceeds ${this.maxPacketLength}`,
      );
    }
    if (this.queue.length < length) return undefined;
    return this.queue.take(length);
  }
}

export function printable(code: number): string {
  return code >= 0x20 && code < 0x7f ? String.fromCharCode(code) : `0x${code.toString(16).padStart(2, '0')}`;
}
