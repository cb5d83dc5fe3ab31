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
 * slow reader on the other side) stops reading, and backpressure reaches the sender.
 */
export class MessageSource<H extends HttpHead> {
  private readonly queue: HttpEvent<H>[] = [];
  private readonly chunks: AsyncIterator<Buffer>;
  private ended = false;

  constructor(
    stream: Readable,
    private readonly parser: EventParser<H>,
  ) {
    this.chunks = stream.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  }

  /** The next event; null once the stream has ended and every event was taken. */
  async next(): Promise<HttpEvent<H> | null> {
    while (this.queue.length === 0) {
      if (this.ended) return null;
      const read = await this.chunks.next();
      if (read.done) {
        this.ended = true;
        this.parser.finish(this.push);
      } else {
        this.parser.parse(read.value, this.push);
      }
    }
    return this.queue.shift()!;
  }

  /** Whether nothing of a next message has been read. */
  get idle(): boolean {
    return this.queue.length === 0 && this.parser.idle;
  }

  readonly push = (event: HttpEvent<H>): void => {
    this.queue.push(event);
  };
}
