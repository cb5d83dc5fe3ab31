/** Builds one protocol message: type byte (optional), Int32 length, body. */
export class BufferWriter {
  private buffer: Buffer;
  private offset = 5;

  constructor(initialSize = 256) {
    this.buffer = Buffer.allocUnsafe(Math.max(initialSize, 16));
  }

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(next, 0, 0, this.offset);
    this.buffer = next;
  }

  byte(value: number): this {
    this.ensure(1);
    this.buffer[this.offset++] = value;
    return this;
  }

  int16(value: number): this {
    this.ensure(2);
    this.buffer.writeInt16BE(value, this.offset);
    this.offset += 2;
    return this;
  }

  int32(value: number): this {
    this.ensure(4);
    this.buffer.writeInt32BE(value, this.offset);
    this.offset += 4;
    return this;
  }

  uint32(value: number): this {
    this.ensure(4);
    this.buffer.writeUInt32BE(value, this.offset);
    this.offset += 4;
    return this;
  }

  cstring(value: string): this {
    const length = Buffer.byteLength(value, 'utf8');
    this.ensure(length + 1);
    this.buffer.write(value, this.offset, 'utf8');
    this.offset += length;
    this.buffer[this.offset++] = 0;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.ensure(value.length);
    this.buffer.set(value, this.offset);
    this.offset += value.length;
    return this;
  }

  /** Int32 length then bytes; null is length -1. */
  nullableBytes(value: Uint8Array | null): this {
    if (value === null) return this.int32(-1);
    return this.int32(value.length).bytes(value);
  }

  /** A tagged message: type byte + length (counting itself) + body. */
  message(code: number): Buffer {
    this.buffer[0] = code;
    this.buffer.writeInt32BE(this.offset - 1, 1);
    return this.buffer.subarray(0, this.offset);
  }

  /** An untagged startup-phase packet: length (counting itself) + body. */
  untagged(): Buffer {
    const body = this.buffer.subarray(1, this.offset);
    body.writeInt32BE(body.length, 0);
    return body;
  }
}
