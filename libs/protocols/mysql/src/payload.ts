import { MysqlProtocolError } from './protocol-error';

/** Reads the protocol's basic types from one packet payload; running past the end is malformed. */
export class PayloadReader {
  offset = 0;

  constructor(
    readonly payload: Buffer,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.payload.length - this.offset;
  }

  private need(bytes: number): void {
    if (this.remaining < bytes) {
      throw new MysqlProtocolError('malformed', `${this.what} ends before its fields do`);
    }
  }

  u8(): number {
    this.need(1);
    return this.payload[this.offset++] as number;
  }

  u16(): number {
    this.need(2);
    const value = this.payload.readUInt16LE(this.offset);
    this.offset += 2;
    return value;
  }

  u24(): number {
    this.need(3);
    const value = this.payload.readUIntLE(this.offset, 3);
    this.offset += 3;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.payload.readUInt32LE(this.offset);
    this.offset += 4;
    return value;
  }

  bytes(length: number): Buffer {
    this.need(length);
    const value = this.payload.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  /** A length-encoded integer; null for the 0xFB NULL marker (row values). */
  lenencOrNull(): number | null {
    const first = this.u8();
    if (first < 0xfb) return first;
    if (first === 0xfb) return null;
    if (first === 0xfc) return this.u16();
    if (first === 0xfd) return this.u24();
    if (first === 0xfe) {
      this.need(8);
      const value = this.payload.readBigUInt64LE(this.offset);
      this.offset += 8;
      if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
        throw new MysqlProtocolError('malformed', `${this.what} has a length beyond 2^53`);
      }
      return Number(value);
    }
    throw new MysqlProtocolError('malformed', `${this.what} has an invalid length-encoded integer`);
  }

  lenenc(): number {
    const value = this.lenencOrNull();
    if (value === null)
      throw new MysqlProtocolError('malformed', `${this.what} has NULL where a number is due`);
    return value;
  }

  lenencBytes(): Buffer {
    return this.bytes(this.lenenc());
  }

  lenencString(): string {
    return this.lenencBytes().toString('utf8');
  }

  /** A NUL-terminated string; `orEnd` accepts the end of the payload as the terminator. */
  nulString(orEnd = false): string {
    const end = this.payload.indexOf(0, this.offset);
    if (end === -1) {
      if (!orEnd) throw new MysqlProtocolError('malformed', `${this.what} has an unterminated string`);
      return this.rest().toString('utf8');
    }
    const value = this.payload.subarray(this.offset, end).toString('utf8');
    this.offset = end + 1;
    return value;
  }
}

/** Builds one packet payload. */
export class PayloadWriter {
  private readonly pieces: Buffer[] = [];

  u8(value: number): this {
    return this.raw(Buffer.from([value & 0xff]));
  }

  u16(value: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16LE(value);
    return this.raw(b);
  }

  u24(value: number): this {
    const b = Buffer.allocUnsafe(3);
    b.writeUIntLE(value, 0, 3);
    return this.raw(b);
  }

  u32(value: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(value >>> 0);
    return this.raw(b);
  }

  zeros(length: number): this {
    return this.raw(Buffer.alloc(length));
  }

  raw(bytes: Buffer): this {
    this.pieces.push(bytes);
    return this;
  }

  lenenc(value: number): this {
    if (value < 0xfb) return this.u8(value);
    if (value < 0x10000) return this.u8(0xfc).u16(value);
    if (value < 0x1000000) {
      const b = Buffer.allocUnsafe(4);
      b[0] = 0xfd;
      b.writeUIntLE(value, 1, 3);
      return this.raw(b);
    }
    const b = Buffer.allocUnsafe(9);
    b[0] = 0xfe;
    b.writeBigUInt64LE(BigInt(value), 1);
    return this.raw(b);
  }

  lenencBytes(bytes: Buffer): this {
    return this.lenenc(bytes.length).raw(bytes);
  }

  lenencString(value: string): this {
    return this.lenencBytes(Buffer.from(value, 'utf8'));
  }

  nulString(value: string): this {
    return this.raw(Buffer.from(value, 'utf8')).u8(0);
  }

  build(): Buffer {
    return Buffer.concat(this.pieces);
  }
}
