/**
 * Splits a stream of JSON objects (a watch: one event after another, newline-separated or not) into
 * whole objects, from bytes split anywhere. It tracks only nesting and strings, so it never parses
 * an object twice; what is between objects must be whitespace. No I/O.
 */
export class JsonObjectSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;

  constructor(private readonly maxObjectBytes: number) {}

  /** The objects this piece completes, each as its bytes. Throws on anything but objects and whitespace. */
  push(bytes: Buffer): Buffer[] {
    const objects: Buffer[] = [];
    let start = 0;
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (this.depth === 0) {
        if (byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09) {
          start = i + 1;
          continue;
        }
        if (byte !== 0x7b) throw new Error('the stream holds something other than JSON objects');
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (byte === 0x5c) this.escaped = true;
        else if (byte === 0x22) this.inString = false;
        continue;
      }
      if (byte === 0x22) this.inString = true;
      else if (byte === 0x7b || byte === 0x5b) this.depth++;
      else if (byte === 0x7d || byte === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          objects.push(this.take(bytes.subarray(start, i + 1)));
          start = i + 1;
        }
      }
    }
    if (this.depth > 0) {
      const rest = bytes.subarray(start);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxObjectBytes) {
        throw new Error(`an object in the stream is larger than ${this.maxObjectBytes} bytes`);
      }
      this.pending.push(Buffer.from(rest));
    }
    return objects;
  }

  /** Whether the stream ended between objects. */
  get idle(): boolean {
    return this.depth === 0;
  }

  private take(last: Buffer): Buffer {
    if (this.pending.length === 0) return last;
    const whole = Buffer.concat([...this.pending, last]);
    this.pending = [];
    this.pendingBytes = 0;
    return whole;
  }
}
