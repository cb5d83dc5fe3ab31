/** What a WebSocketFrameReader reports of the data messages in one direction of a connection. */
export type WebSocketMessageEvent =
  | { readonly type: 'start'; readonly opcode: number }
  | { readonly type: 'data'; readonly bytes: Buffer }
  | { readonly type: 'end' };

const OP_CONTINUATION = 0x0;
const OP_TEXT = 0x1;
const OP_BINARY = 0x2;

/** Largest frame header: 2 bytes, an 8-byte length, a 4-byte mask key. */
const MAX_HEADER = 14;

/**
 * Reads WebSocket frames (RFC 6455) from one direction of a connection, fed bytes split anywhere,
 * and reports the data messages: their start (with the opcode), their payload unmasked as it
 * arrives (nothing is held beyond a frame header), their end; control frames (close, ping, pong) are
 * skipped. It only observes: the relay forwards the original bytes. Extensions are not negotiated
 * (the relay removes the offer), so a frame with a reserved bit set cannot be read and is an error,
 * as is a continuation without a message. No I/O.
 */
export class WebSocketFrameReader {
  private header = Buffer.alloc(MAX_HEADER);
  private headerLength = 0;
  private remaining = 0;
  private maskKey: Buffer | undefined;
  private maskOffset = 0;
  private inPayload = false;
  private control = false;
  private fin = false;
  /** Whether a fragmented data message is open (its later frames are continuations). */
  private inMessage = false;

  constructor(private readonly emit: (event: WebSocketMessageEvent) => void) {}

  push(bytes: Buffer): void {
    let offset = 0;
    while (offset < bytes.length) {
      if (!this.inPayload) {
        offset = this.readHeader(bytes, offset);
        continue;
      }
      const take = Math.min(this.remaining, bytes.length - offset);
      if (!this.control && take > 0) {
        const piece = Buffer.from(bytes.subarray(offset, offset + take));
        if (this.maskKey) {
          for (let i = 0; i < piece.length; i++) piece[i]! ^= this.maskKey[(this.maskOffset + i) & 3]!;
          this.maskOffset += piece.length;
        }
        this.emit({ type: 'data', bytes: piece });
      }
      offset += take;
      this.remaining -= take;
      if (this.remaining === 0) this.endFrame();
    }
  }

  private readHeader(bytes: Buffer, start: number): number {
    let offset = start;
    while (offset < bytes.length) {
      this.header[this.headerLength++] = bytes[offset++]!;
      const needed = this.headerSize();
      if (needed !== undefined && this.headerLength === needed) {
        this.startFrame();
        return offset;
      }
    }
    return offset;
  }

  /** The whole header's size once enough of it is known. */
  private headerSize(): number | undefined {
    if (this.headerLength < 2) return undefined;
    const length = this.header[1]! & 0x7f;
    const masked = (this.header[1]! & 0x80) !== 0;
    return 2 + (length === 126 ? 2 : length === 127 ? 8 : 0) + (masked ? 4 : 0);
  }

  private startFrame(): void {
    const first = this.header[0]!;
    const second = this.header[1]!;
    if ((first & 0x70) !== 0)
      throw new Error('a WebSocket frame uses an extension (compression), which cannot be read');
    this.fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    let length = second & 0x7f;
    let at = 2;
    if (length === 126) {
      length = this.header.readUInt16BE(2);
      at = 4;
    } else if (length === 127) {
      const big = this.header.readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('a WebSocket frame is too long');
      length = Number(big);
      at = 10;
    }
    this.maskKey = (second & 0x80) !== 0 ? Buffer.from(this.header.subarray(at, at + 4)) : undefined;
    this.maskOffset = 0;
    this.control = (opcode & 0x08) !== 0;
    if (this.control) {
      if (length > 125 || !this.fin) throw new Error('a WebSocket control frame is malformed');
    } else if (opcode === OP_CONTINUATION) {
      if (!this.inMessage) throw new Error('a WebSocket continuation frame without a message');
    } else if (opcode === OP_TEXT || opcode === OP_BINARY) {
      if (this.inMessage) throw new Error('a WebSocket message started inside another');
      this.inMessage = true;
      this.emit({ type: 'start', opcode });
    } else {
      throw new Error(`a WebSocket frame has the reserved opcode ${opcode}`);
    }
    this.headerLength = 0;
    this.remaining = length;
    this.inPayload = true;
    if (length === 0) this.endFrame();
  }

  private endFrame(): void {
    this.inPayload = false;
    if (!this.control && this.fin) {
      this.inMessage = false;
      this.emit({ type: 'end' });
    }
  }
}
