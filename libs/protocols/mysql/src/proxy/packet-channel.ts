import type { Duplex } from 'node:stream';
import { frameDataBuffer, SOCKET_READ_BYTES } from '@tollgate/protocol-tcp';
import { framePacket, framePackets, PacketReader, type MysqlPacket } from '../packet-reader';

/** Stop reading the socket while this many parsed bytes wait to be taken (bounded buffering). */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/**
 * Logical packets from one side of a session (client or target), pulled by the session one at a
 * time; the socket is paused while enough is queued, so a slow reader on the other side pushes back
 * to the sender. Writes keep the sequence ids the protocol expects (`reset()` at each command).
 */
export class PacketChannel {
  /** Parsed packets not taken yet: `queue[head]` is the next (an index, not shift(), which moves
   * every packet queued behind it: thousands while a large result streams in). */
  private queue: (MysqlPacket | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private reader: PacketReader;
  /** Next sequence id this side writes. */
  sequence = 0;

  constructor(
    private socket: Duplex,
    readonly what: string,
    maxPacket?: number,
  ) {
    this.reader = new PacketReader(maxPacket);
    this.attach(socket);
  }

  private attach(socket: Duplex): void {
    socket.on('data', this.onData);
    socket.once('end', this.onEnd);
    socket.once('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** Moves the channel onto another socket over the same bytes (a TLS socket over the TCP one). */
  upgrade(socket: Duplex): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
    this.socket = socket;
    this.attach(socket);
  }

  get stream(): Duplex {
    return this.socket;
  }

  private readonly onData = (chunk: Buffer) => {
    try {
      this.reader.parse(chunk, (packet) => {
        this.queue.push(packet);
        this.queuedBytes += packet.payload.length;
      });
    } catch (error) {
      this.fail(error as Error);
    }
    if (this.queuedBytes >= HIGH_WATER_BYTES) this.socket.pause();
    this.wake();
  };

  private readonly onEnd = () => this.fail(new Error(`${this.what} closed the connection`));
  private readonly onError = (error: Error) => this.fail(error);

  private fail(error: Error): void {
    this.failure ??= error;
    this.wake();
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** A packet already parsed, if any. */
  take(): MysqlPacket | undefined {
    if (this.head === this.queue.length) return undefined;
    const packet = this.queue[this.head] as MysqlPacket;
    this.queue[this.head++] = undefined;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      // Refilled as fast as it is taken (a streaming result): drop the taken slots now and then.
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.queuedBytes -= packet.payload.length;
    if (this.queuedBytes < HIGH_WATER_BYTES && this.socket.isPaused()) this.socket.resume();
    return packet;
  }

  /** The next packet; rejects when the side closed or sent bytes that are not packets. */
  async next(): Promise<MysqlPacket> {
    for (;;) {
      const packet = this.take();
      if (packet) return packet;
      if (this.failure) throw this.failure;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Whether a packet is waiting or the side has failed: `next()` would not wait. */
  get ready(): boolean {
    return this.head < this.queue.length || this.failure !== undefined;
  }

  /** Resolves when a packet arrives or the side fails. */
  async wait(): Promise<void> {
    if (this.ready) return;
    await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  /** Frames a payload with the next sequence id(s). Returns false when the socket's buffer is full. */
  write(payload: Buffer): boolean {
    const { bytes, next } = framePacket(payload, this.sequence);
    this.sequence = next;
    return this.socket.writable ? this.socket.write(bytes) : true;
  }

  /**
   * Frames several payloads into one write (one buffer, each payload copied once); on a session
   * stream, a buffer of up to SOCKET_READ_BYTES leaves as one tunnel frame without another copy.
   */
  writeAll(payloads: readonly Buffer[]): boolean {
    if (payloads.length === 0) return true;
    const { bytes, next } = framePackets(payloads, this.sequence, allocateWrite);
    this.sequence = next;
    return this.socket.writable ? this.socket.write(bytes) : true;
  }

  /** Resolves once the socket can take more (or is gone). */
  async drained(): Promise<void> {
    if (!this.socket.writable || !this.socket.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Stops listening to the socket (before it is wrapped in TLS). */
  detach(): void {
    this.socket.off('data', this.onData);
  }

  /** Bytes read past the last whole packet (the start of a TLS handshake), taken from the channel. */
  takePending(): Buffer {
    return this.reader.takePending();
  }

  end(payload?: Buffer): void {
    if (payload && this.socket.writable) {
      const { bytes } = framePacket(payload, this.sequence);
      this.socket.end(bytes);
    } else this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function allocateWrite(size: number): Buffer {
  return size <= SOCKET_READ_BYTES ? frameDataBuffer(size) : Buffer.allocUnsafe(size);
}
