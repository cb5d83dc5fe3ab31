import type { Duplex } from 'node:stream';

/** Most bytes of frames queued behind a waiting handler before the source is paused. */
export const QUEUED_BYTES_HIGH_WATER = 1024 * 1024;

/**
 * Handles a socket's messages strictly in order, even when a handler must wait (a policy decision,
 * a review, a catalog lookup). While a handler waits the source is still read, into a queue, until
 * the queue is long (`highWater` items or QUEUED_BYTES_HIGH_WATER bytes of frames): then the source
 * is paused, so backpressure reaches the sender instead of memory growing here. Reading on while a
 * handler waits is what lets the session see its client go away (a stream's `end` comes only after
 * its data was read): a client that quits while its statement waits for a review ends the session
 * then, not when the review times out. Handlers that answer at once (most messages: a DataRow
 * relayed as it is) run synchronously in `push`, with no queue and no promise per message.
 */
export class OrderedPump<T extends { readonly frame: Buffer }> {
  private readonly queue: T[] = [];
  private queuedBytes = 0;
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
      this.queuedBytes += item.frame.length;
      if (this.queue.length >= this.highWater || this.queuedBytes >= QUEUED_BYTES_HIGH_WATER) {
        this.pause('queue');
      }
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
    this.queuedBytes = 0;
  }

  private take(): T {
    const item = this.queue.shift() as T;
    this.queuedBytes -= item.frame.length;
    return item;
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
        pending.then(
          () => {
            if (this.stopped) return;
            this.next();
          },
          (error: unknown) => this.fail(error),
        );
        return;
      }
      if (this.queue.length === 0) break;
      item = this.take();
    }
    this.running = false;
    this.release('queue');
  }

  private next(): void {
    if (this.queue.length > 0) return this.run(this.take());
    this.running = false;
    this.release('queue');
  }

  private fail(error: unknown): void {
    this.running = false;
    this.stop();
    this.onError(error);
  }
}
