import type { Duplex } from 'node:stream';

/**
 * Handles a socket's messages strictly in order, even when a handler must wait (a policy decision,
 * a catalog lookup). While a handler waits, or while the queue is long, the source socket is paused,
 * so backpressure reaches the sender instead of memory growing here.
 */
export class OrderedPump<T> {
  private readonly queue: T[] = [];
  private running = false;
  private readonly pauses = new Set<string>();
  private stopped = false;

  constructor(
    private readonly source: Duplex,
    private readonly handle: (item: T) => void | Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly highWater = 1024,
  ) {}

  push(item: T): void {
    this.queue.push(item);
    if (this.queue.length >= this.highWater) this.pause('queue');
    if (!this.running) void this.drain();
  }

  /** Stops reading from the source until every reason given here has been released. */
  pause(reason: string): void {
    this.pauses.add(reason);
    this.source.pause();
  }

  release(reason: string): void {
    this.pauses.delete(reason);
    if (this.pauses.size === 0 && !this.stopped) this.source.resume();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.stopped) {
        const item = this.queue.shift() as T;
        const pending = this.handle(item);
        if (pending) {
          this.pause('handler');
          await pending;
          this.release('handler');
        }
      }
      this.release('queue');
    } catch (error) {
      this.stop();
      this.onError(error);
    } finally {
      this.running = false;
    }
  }
}
