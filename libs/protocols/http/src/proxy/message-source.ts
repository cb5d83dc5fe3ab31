import type { Readable } from 'node:stream';
import type { HttpEvent, HttpHead } from '../http-messages';

/** What MessageSource needs of a parser (HttpRequestParser, HttpResponseParser). */
export interface EventParser<H extends HttpHead> {
  parse(chunk: Buffer, emit: (event: HttpEvent<H>) => void): void;
  finish(emit: (event: HttpEvent<H>) => void): void;
  readonly idle: boolean;
}

/**
 * Pulls parsed events from a byte stream, one at a time: the stream is read only when every event
 * of the last read has been taken, so a relay that stops asking (waiting for a decision, or for a
 * slow reader on the other side) stops reading, and backpressure reaches the sender. `untilEnd`
 * reads ahead, within a bound, to see a client leave while its request waits for a review.
 */
export class MessageSource<H extends HttpHead> {
  private readonly queue: HttpEvent<H>[] = [];
  private readonly chunks: AsyncIterator<Buffer>;
  private ended = false;
  /** The read in progress (one at a time: next() and untilEnd() share it). */
  private reading: Promise<number> | undefined;
  /** What the parser threw on a chunk read ahead: thrown by next() once the events before it were taken. */
  private failure: unknown;

  constructor(
    stream: Readable,
    private readonly parser: EventParser<H>,
  ) {
    this.chunks = stream.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  }

  /** The next event; null once the stream has ended and every event was taken. */
  async next(): Promise<HttpEvent<H> | null> {
    while (this.queue.length === 0) {
      if (this.failure !== undefined) throw this.failure as Error;
      if (this.ended) return null;
      await this.read();
    }
    return this.queue.shift()!;
  }

  /**
   * Resolves once the stream has ended (the client went away), reading on into the queue meanwhile,
   * what is read then is taken by next() in order. Reads at most `limit` bytes ahead: past that it
   * stops reading (backpressure again) and never resolves.
   */
  async untilEnd(limit: number): Promise<void> {
    let read = 0;
    while (!this.ended) {
      if (read >= limit || this.failure !== undefined) return new Promise<void>(() => undefined);
      read += await this.read();
    }
  }

  /** Whether nothing of a next message has been read. */
  get idle(): boolean {
    return this.queue.length === 0 && this.parser.idle;
  }

  readonly push = (event: HttpEvent<H>): void => {
    this.queue.push(event);
  };

  /** Reads one chunk into the parser (or the end); resolves with its size. */
  private read(): Promise<number> {
    this.reading ??= this.chunks.next().then(
      (chunk) => {
        this.reading = undefined;
        try {
          if (chunk.done) {
            this.ended = true;
            this.parser.finish(this.push);
            return 0;
          }
          this.parser.parse(chunk.value, this.push);
          return chunk.value.length;
        } catch (error) {
          this.failure = error;
          return 0;
        }
      },
      (error: unknown) => {
        this.reading = undefined;
        this.failure = error;
        return 0;
      },
    );
    return this.reading;
  }
}
