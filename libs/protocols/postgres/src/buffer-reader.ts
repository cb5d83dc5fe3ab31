import { PostgresProtocolError } from './protocol-error';

/** Reads one message body with bounds checks: running past the end is a protocol error, never a RangeError. */
export class BufferReader {
  private offset: number;

  constructor(
    private readonly buffer: Buffer,
    start = 0,
    private readonly end = buffer.length,
    private readonly what = 'message',
  ) {
    this.offset = start;
  }

  get remaining(): number {
    return this.end - this.offset;
  }

  private need(bytes: number): void {
    if (bytes < 0 || this.offset + bytes > this.end) {
      throw new PostgresProtocolError('malformed', `${this.what} is truncated`);
    }
  }

  byte(): number {
    this.need(1);
    return this.buffer[this.offset++] as number;
  }

  int16(): number {
    this.need(2);
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  uint16(): number {
    this.need(2);
    const value = this.buffer.readUInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint32(): number {
    this.need(4);
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A NUL-terminated string (UTF-8). */
  cstring(): string {
    const nul = this.buffer.indexOf(0, this.offset);
    if (nul === -1 || nul >= this.end)
      throw new PostgresProtocolError('malformed', `${this.what}: unterminated string`);
    const value = this.buffer.toString('utf8', this.offset, nul);
    this.offset = nul + 1;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** Everything up to the end of the message. */
  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** An Int32 length followed by that many bytes; -1 is NULL. */
  nullableBytes(): Buffer | null {
    const length = this.int32();
    if (length === -1) return null;
    if (length < -1)
      throw new PostgresProtocolError('malformed', `${this.what}: negative value length ${length}`);
    return this.bytes(length);
  }

  /** A count that must fit in what is left, given the minimum size of each item. */
  count(value: number, minItemBytes: number): number {
    if (value < 0 || value * minItemBytes > this.remaining) {
      throw new PostgresProtocolError('malformed', `${this.what}: count ${value} does not fit the message`);
    }
    return value;
  }

  expectEnd(): void {
    if (this.offset !== this.end) {
      throw new PostgresProtocolError(
        'malformed',
        `${this.what} has ${this.end - this.offset} unexpected trailing bytes`,
      );
    }
  }
}
