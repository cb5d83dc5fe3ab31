import type { Duplex } from 'node:stream';

/**
 * Pulls parsed messages from a socket one at a time, for the request/response phases (start-up,
 * authentication). The socket is paused while nothing is waiting, so unread bytes stay in the
 * kernel instead of piling up here.
 */
export class SocketReader<M> {
  private readonly ready: { message: M; frame: Buffer }[] = [];
  private waiter:
    { resolve: (value: { message: M; frame: Buffer }) => void; reject: (error: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly feed: (chunk: Buffer, emit: (message: M, frame: Buffer) => void) => void,
    private readonly what: string,
  ) {
    socket.on('data', this.onData);
    socket.once('end', () => this.fail(new Error(`${what} closed the connection`)));
    socket.once('close', () => this.fail(new Error(`${what} closed the connection`)));
    socket.once('error', (error: Error) => this.fail(error));
    socket.pause();
  }

  private readonly onData = (chunk: Buffer) => {
    try {
      this.feed(chunk, (message, frame) => this.ready.push({ message, frame }));
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.deliver();
  };

  private fail(error: Error): void {
    this.failure ??= error;
    this.deliver();
  }

  private deliver(): void {
    if (!this.waiter) return;
    const next = this.ready.shift();
    if (next) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      this.socket.pause();
      resolve(next);
    } else if (this.failure) {
      const { reject } = this.waiter;
      this.waiter = undefined;
      reject(this.failure);
    }
  }

  next(): Promise<{ message: M; frame: Buffer }> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
      this.deliver();
      if (this.waiter) this.socket.resume();
    });
  }

  /** Re-runs the parser on what it holds (after the caller answered a message it stopped at). */
  poke(): void {
    this.onData(Buffer.alloc(0));
  }

  /** Stops reading; returns messages already parsed but not yet taken. */
  detach(): { message: M; frame: Buffer }[] {
    this.socket.off('data', this.onData);
    return this.ready.splice(0);
  }
}
