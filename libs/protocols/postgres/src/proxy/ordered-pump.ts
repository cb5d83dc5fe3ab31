import type { Duplex } from 'node:stream';

/**
 * Handles a socket's messages strictly in order, even when a handler must wait (a policy decision,
 * a catalog lookup). While a handler waits, or while the queue is long, the source socket is paused,
 * so backpressure reaches the sender instead of memory growing here. Handlers that answer at once
 * (most messages: a DataRow relayed as it is) run synchronously in `push`, with no queue and no
 * promise per message.
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
    if (this.stopped) return;
    if (this.running || this.queue.length > 0) {
      this.queue.push(item);
      if (this.queue.length >= this.highWater) this.pause('queue');
      return;
    }
    this.run(item);
  }

  /** Stops reading from the source until every reason given here has been released. */
  pause(reason: string): void {
    this.pauses.add(reason);
    this.source.pause();
  }

  release(reason: string): void {
    if (!this.pauses.delete(reason)) return;
    if (this.pauses.size === 0 && !this.stopped) this.source.resume();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
  }

  /** Handles `first`, then whatever queued behind it, until the queue is empty or a handler waits. */
  private run(first: T): void {
    this.running = true;
    let item = first;
    for (;;) {
      let pending: void | Promise<void>;
      try {
        pending = this.handle(item);
      } catch (error) {
        return this.fail(error);
      }
      if (this.stopped) return;
      if (pending) {
        this.pause('handler');
        pending.then(
          () => {
            if (this.stopped) return;
            this.release('handler');
            this.next();
          },
          (error: unknown) => this.fail(error),
        );
        return;
      }
      if (this.queue.length === 0) break;
      item = this.queue.shift() as T;
    }
    this.running = false;
    this.release('queue');
  }

  private next(): void {
    if (this.queue.length > 0) return this.run(this.queue.shift() as T);
    this.running = false;
    this.release('queue');
  }

  private fail(error: unknown): void {
    this.running = false;
    this.stop();
    this.onError(error);
  }
}
