/**
 * Bytes received but not yet consumed. Chunks are kept as they arrive and joined only when a whole
 * frame is taken, so a 64 MiB row arriving in 64 KiB chunks costs one copy, not thousands.
 */
export class ChunkQueue {
  private chunks: Buffer[] = [];
  private head = 0; // offset into chunks[0]
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The byte at `index` from the front; the caller checks `length` first. */
  peekByte(index: number): number {
    let i = this.head + index;
    for (const chunk of this.chunks) {
      if (i < chunk.length) return chunk[i] as number;
      i -= chunk.length;
    }
    throw new RangeError('peek past the end of the queue');
  }

  peekInt32(index: number): number {
    return (
      ((this.peekByte(index) << 24) |
        (this.peekByte(index + 1) << 16) |
        (this.peekByte(index + 2) << 8) |
        this.peekByte(index + 3)) >>>
      0
    );
  }

  /** Removes and returns the first `n` bytes (zero-copy when they lie in one chunk). */
  take(n: number): Buffer {
    if (n > this.total) throw new RangeError('take past the end of the queue');
    this.total -= n;
    const first = this.chunks[0];
    if (first && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.head += n;
      if (this.head === first.length) {
        this.chunks.shift();
        this.head = 0;
      }
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0] as Buffer;
      const available = chunk.length - this.head;
      const wanted = Math.min(available, n - filled);
      chunk.copy(out, filled, this.head, this.head + wanted);
      filled += wanted;
      this.head += wanted;
      if (this.head === chunk.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    return out;
  }

  /** Everything left, for handing the stream over to a relay that no longer parses. */
  drain(): Buffer {
    return this.take(this.total);
  }
}
