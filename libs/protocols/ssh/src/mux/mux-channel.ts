import { Duplex, Readable, Writable } from 'node:stream';
import type { EventEmitter } from 'node:events';
import { FrameType, MAX_FRAME_PAYLOAD, type ChannelRequest } from './mux-frames';

/** Bytes a side may send on a channel before the other grants more (OpenSSH's 2 MiB). */
export const INITIAL_WINDOW = 2 * 1024 * 1024;
/** The receiver grants what was consumed once it reaches this much. */
const GRANT_THRESHOLD = INITIAL_WINDOW / 2;

/** What a channel needs from the multiplexer it belongs to. */
export interface ChannelLink {
  /** Writes one frame to the session stream; false once the stream wants to drain first. */
  send(type: FrameType, channel: number, payload?: Buffer): boolean;
  /** Whether the session stream takes more now (not waiting for drain, not gone). */
  readonly writable: boolean;
  /** The channel is closed both ways and its number may be forgotten. */
  forget(channel: MuxChannel): void;
}

type Outgoing =
  | {
      readonly type: FrameType.Data | FrameType.Stderr;
      data: Buffer;
      readonly done: (error?: Error | null) => void;
    }
  | { readonly type: FrameType.Request; readonly request: ChannelRequest }
  | { readonly type: FrameType.Eof | FrameType.Close };

/**
 * One channel of the multiplexer, shaped as ssh2's channels are, so the session bridge serves it as
 * it serves an ssh2 channel: a Duplex for stdin/stdout, `stderr`, EOF and close, with per-channel
 * flow control (a window per direction, as SSH has) so a channel whose reader is slow does not hold
 * up the others on the same stream.
 *
 * `client` role (the side that asked for the channel to run something: ssh2's ClientChannel):
 * `stderr` is readable, `setWindow` and `signal` send requests, an exit status arrives as `exit`.
 * `server` role (the agent's engine: ssh2's ServerChannel): `stderr` is writable, `exit()` sends the
 * exit status or signal, and `end()` sends EOF and closes the channel, after what was written.
 */
export class MuxChannel extends Duplex {
  readonly stderr: Readable | Writable;
  private readonly queue: Outgoing[] = [];
  private remoteWindow = INITIAL_WINDOW;
  private localWindow = INITIAL_WINDOW;
  private consumed = 0;
  private eofSent = false;
  private eofReceived = false;
  private closeSent = false;
  private closeReceived = false;
  private finished = false;
  private exitRequest: ChannelRequest | undefined;

  constructor(
    private readonly link: ChannelLink,
    readonly id: number,
    readonly role: 'client' | 'server',
    /** The session whose requests (window changes, signals) arrive on this channel (server role). */
    readonly session?: EventEmitter,
  ) {
    super({
      autoDestroy: false,
      emitClose: false,
      readableHighWaterMark: INITIAL_WINDOW,
      writableHighWaterMark: MAX_FRAME_PAYLOAD,
    });
    this.stderr =
      role === 'client'
        ? new Readable({
            autoDestroy: false,
            emitClose: false,
            highWaterMark: INITIAL_WINDOW,
            read: () => this.grant(),
          })
        : new Writable({
            autoDestroy: false,
            emitClose: false,
            highWaterMark: MAX_FRAME_PAYLOAD,
            write: (chunk: Buffer, _encoding, done) =>
              this.enqueue({ type: FrameType.Stderr, data: chunk, done }),
          });
    // A write after the channel ended is dropped, as ssh2 does; it must not end the process.
    this.on('error', () => undefined);
    this.stderr.on('error', () => undefined);
  }

  // ---- what the bridge calls ----------------------------------------------------------------

  /** The client's terminal changed size (client role). */
  setWindow(rows: number, cols: number, height: number, width: number): boolean {
    this.request({ type: 'window-change', cols, rows, width, height });
    return true;
  }

  /** Sends a signal (client role); allowed after EOF, as SSH allows it. */
  signal(name: string): boolean {
    this.request({ type: 'signal', name: name.toUpperCase().replace(/^SIG/, '') });
    return true;
  }

  /**
   * The command's exit status, or the signal that ended it (server role); sent after everything
   * written before the channel's end, which follows.
   */
  exit(codeOrSignal: number | string, coreDumped?: boolean, description?: string): void {
    this.exitRequest =
      typeof codeOrSignal === 'number'
        ? { type: 'exit-status', code: codeOrSignal }
        : {
            type: 'exit-signal',
            signal: codeOrSignal.replace(/^SIG/, ''),
            coreDumped: coreDumped === true,
            description: description ?? '',
          };
  }

  /** Closes the channel now: what is not sent yet is dropped. */
  close(): void {
    if (this.closeSent) return;
    this.dropQueue();
    this.closeSent = true;
    this.link.send(FrameType.Close, this.id);
    this.settle();
  }

  // ---- Duplex --------------------------------------------------------------------------------

  override _read(): void {
    this.grant();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    this.enqueue({ type: FrameType.Data, data: chunk, done });
  }

  override _final(done: (error?: Error | null) => void): void {
    if (this.role === 'client') {
      this.sendEof();
      return done();
    }
    // Server role: stderr's pending bytes, the exit status, EOF, close: in that order.
    const stderr = this.stderr as Writable;
    const finish = () => {
      if (this.exitRequest) this.enqueueControl({ type: FrameType.Request, request: this.exitRequest });
      this.sendEof();
      if (!this.closeSent) this.enqueueControl({ type: FrameType.Close });
      done();
    };
    if (stderr.writableFinished) finish();
    else {
      stderr.once('finish', finish);
      stderr.end();
    }
  }

  // ---- what the multiplexer calls --------------------------------------------------------------

  /** Data (or stderr data) from the other side. Returns false when it overran its window. */
  receive(data: Buffer, toStderr: boolean): boolean {
    if (this.eofReceived || this.closeReceived || data.length === 0) return true;
    this.localWindow -= data.length;
    if (this.localWindow < 0) return false;
    this.consumed += data.length;
    const into = toStderr && this.role === 'client' ? (this.stderr as Readable) : this;
    // Stderr from a client (server role) does not exist in SSH: counted and dropped.
    if (toStderr && this.role === 'server') return true;
    if (into.push(data)) this.grant();
    return true;
  }

  /** The other side granted more of its window. */
  granted(bytes: number): void {
    this.remoteWindow += bytes;
    this.flush();
  }

  remoteRequest(request: ChannelRequest): void {
    switch (request.type) {
      case 'window-change':
        this.session?.emit('window-change', undefined, undefined, {
          cols: request.cols,
          rows: request.rows,
          width: request.width,
          height: request.height,
        });
        return;
      case 'signal':
        this.session?.emit('signal', undefined, undefined, { name: request.name });
        return;
      case 'exit-status':
        this.emit('exit', request.code);
        return;
      case 'exit-signal':
        this.emit('exit', null, `SIG${request.signal}`, request.coreDumped, request.description);
        return;
    }
  }

  remoteEof(): void {
    if (this.eofReceived) return;
    this.eofReceived = true;
    this.endReadables();
    if (this.eofSent && !this.closeSent) this.close();
  }

  remoteClose(): void {
    if (this.closeReceived) return;
    this.closeReceived = true;
    this.eofReceived = true;
    this.endReadables();
    // Nothing more is taken on a channel the other side closed: answer it, dropping what waits.
    if (!this.closeSent) this.close();
    else this.settle();
  }

  /** The session stream is gone: the channel is closed without a word. */
  lost(): void {
    this.closeReceived = true;
    this.closeSent = true;
    this.eofReceived = true;
    this.dropQueue();
    this.endReadables();
    this.settle();
  }

  /** Sends what waits for window or for the stream to drain, in order. */
  flush(): void {
    while (this.queue.length > 0 && this.link.writable) {
      const item = this.queue[0]!;
      if (item.type === FrameType.Data || item.type === FrameType.Stderr) {
        const size = Math.min(item.data.length, this.remoteWindow, MAX_FRAME_PAYLOAD);
        if (size === 0) return;
        this.remoteWindow -= size;
        const part = size === item.data.length ? item.data : item.data.subarray(0, size);
        item.data = item.data.subarray(size);
        if (item.data.length === 0) this.queue.shift();
        this.link.send(item.type, this.id, part);
        if (item.data.length === 0) item.done();
      } else {
        this.queue.shift();
        this.sendControl(item);
      }
    }
  }

  get pending(): boolean {
    return this.queue.length > 0;
  }

  // ---- inside ----------------------------------------------------------------------------------

  private request(request: ChannelRequest): void {
    if (this.closeSent) return;
    this.link.send(FrameType.Request, this.id, Buffer.from(JSON.stringify(request), 'utf8'));
  }

  private enqueue(item: Outgoing & { readonly type: FrameType.Data | FrameType.Stderr }): void {
    if (this.closeSent || this.eofSent) return item.done();
    this.queue.push(item);
    this.flush();
  }

  private enqueueControl(item: Outgoing): void {
    if (this.closeSent) return;
    this.queue.push(item);
    this.flush();
  }

  private sendEof(): void {
    if (this.eofSent || this.closeSent) return;
    this.eofSent = true;
    this.enqueueControl({ type: FrameType.Eof });
  }

  private sendControl(item: Outgoing): void {
    if (this.closeSent) return;
    if (item.type === FrameType.Request) {
      this.link.send(FrameType.Request, this.id, Buffer.from(JSON.stringify(item.request), 'utf8'));
    } else if (item.type === FrameType.Eof) {
      this.link.send(FrameType.Eof, this.id);
      if (this.eofReceived) this.close();
    } else if (item.type === FrameType.Close) {
      this.closeSent = true;
      this.link.send(FrameType.Close, this.id);
      this.settle();
    }
  }

  private grant(): void {
    if (this.consumed < GRANT_THRESHOLD || this.closeSent) return;
    const bytes = Buffer.allocUnsafe(4);
    bytes.writeUInt32BE(this.consumed, 0);
    this.localWindow += this.consumed;
    this.consumed = 0;
    this.link.send(FrameType.Window, this.id, bytes);
  }

  private dropQueue(): void {
    for (const item of this.queue.splice(0)) {
      if (item.type === FrameType.Data || item.type === FrameType.Stderr) item.done();
    }
  }

  private endReadables(): void {
    if (!this.readableEnded) this.push(null);
    if (this.stderr instanceof Readable && !this.stderr.readableEnded) this.stderr.push(null);
  }

  /** Once closed both ways: forgotten by the multiplexer; `close` follows what was received. */
  private settle(): void {
    if (this.finished || !this.closeSent || !this.closeReceived) return;
    this.finished = true;
    this.link.forget(this);
    if (this.session) this.session.emit('close');
    const emitClose = () => this.emit('close');
    if (this.readableEnded) process.nextTick(emitClose);
    else this.once('end', emitClose);
  }
}
