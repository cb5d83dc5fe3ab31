import { connect, type Socket, type TcpNetConnectOpts } from 'node:net';
import { Readable } from 'node:stream';
import { DATA_ENVELOPE_HEADROOM } from '@tollgate/proto';

/**
 * Takes a socket's bytes: a view of a buffer that was allocated for this one read (it is never
 * reused, so the sink may keep it), with DATA_ENVELOPE_HEADROOM bytes of that buffer free in front
 * of it, where a tunnel codec writes the frame's header instead of copying the bytes into a new
 * frame. Returns false when it cannot take more for now; the caller then pauses the socket itself.
 */
export type ReadSink = (bytes: Buffer) => boolean;

interface ReadTarget {
  sink: ReadSink | undefined;
  /** Bytes that arrived before a sink was attached. */
  early: Buffer[];
}

/**
 * Largest read of a target socket, and so the largest frame a tcp relay sends. Each tunnel message
 * costs the same fixed work on every hop whatever its size, so a busy socket's reads are taken in
 * large pieces; still small next to a session's 4 MiB HTTP/2 window, so flow control stays
 * fine-grained. Kept below 128 KiB on purpose: every frame is one fresh buffer in each process
 * (this read, grpc-js's framing, the gateway's message), and glibc serves allocations of 128 KiB
 * or more with mmap, so 256 KiB frames page-faulted their memory in anew (measured: ~60-80k minor
 * faults per GiB in the agent, its CPU per GiB ~3.5 s instead of ~1.2 s, download 270 vs 420 MiB/s).
 */
export const SOCKET_READ_BYTES = 120 * 1024;

/**
 * The read buffer of a socket that is quiet (or just opened): Node keeps the next read's buffer
 * ready, so this is what an idle session costs.
 */
const QUIET_READ_BYTES = 16 * 1024;

const readTargets = new WeakMap<Socket, ReadTarget>();

/**
 * The memory of reads whose headroom nobody has taken yet. Each read gets an ArrayBuffer of its own
 * (allocUnsafeSlow, never pooled), so a view of its bytes can be traced back to it. Were reads
 * pooled, the pool's ArrayBuffer would be in here and any small buffer allocated after a read (a
 * serialized head, a masked body) would pass for read headroom: the frame header written in front
 * of it would overwrite the end of whatever the pool gave out just before (masked Kubernetes
 * responses reached kubectl with NUL bytes in them).
 */
const unclaimedHeadroom = new WeakSet<ArrayBufferLike>();

/**
 * Connects a socket that reads into buffers of its own choosing (Node's `onread`) instead of
 * emitting 'data': each read lands behind DATA_ENVELOPE_HEADROOM free bytes, so the tunnel frame can
 * be written around it without copying, and a busy socket reads SOCKET_READ_BYTES at a time. The
 * socket starts paused; `attachReadSink` then takes its bytes.
 */
export function connectWithFrameReads(options: TcpNetConnectOpts): Socket {
  const target: ReadTarget = { sink: undefined, early: [] };
  let size = QUIET_READ_BYTES;
  const socket = connect({
    ...options,
    onread: {
      // Called for the first read and again after each one (Node's `onread` buffer generator).
      // allocUnsafeSlow: never a slice of Node's shared pool (64 KiB since Node 24, so even a quiet
      // read would be one), whose other slices belong to whoever allocated them.
      buffer: () => Buffer.allocUnsafeSlow(DATA_ENVELOPE_HEADROOM + size).subarray(DATA_ENVELOPE_HEADROOM),
      callback: (length, buffer) => {
        // A read that (nearly) filled its buffer: more is waiting, read it in large pieces. A small
        // one: the socket is quiet, keep only a small buffer ready.
        if (length * 4 >= size * 3) size = SOCKET_READ_BYTES;
        else if (length < QUIET_READ_BYTES) size = QUIET_READ_BYTES;
        const bytes = (buffer as Buffer).subarray(0, length);
        unclaimedHeadroom.add(bytes.buffer);
        if (target.sink) return target.sink(bytes);
        target.early.push(bytes);
        return true;
      },
    },
  });
  socket.pause();
  readTargets.set(socket, target);
  return socket;
}

/**
 * Sends the socket's bytes to `sink` if it was made by connectWithFrameReads; false for any other
 * socket (its bytes come as 'data' events).
 */
export function attachReadSink(socket: Socket, sink: ReadSink): boolean {
  const target = readTargets.get(socket);
  if (!target) return false;
  target.sink = sink;
  for (const bytes of target.early.splice(0)) sink(bytes);
  return true;
}

/**
 * Claims the bytes in front of `bytes` for a frame header, if `bytes` lies in a read made by
 * connectWithFrameReads and is the first part of that read anyone claims. A parser that took a
 * read apart (an HTTP response: head, then body) writes its parts in order, so the first part
 * written is the lowest in the buffer and what lies in front of it (the read's free headroom, or
 * the head already parsed into a copy of its own) is dead; a later part of the same read would
 * have the previous part, perhaps still queued for sending, in front of it, so only one part per
 * read is claimed. The caller must hand `bytes` over (never touch them again).
 */
export function claimReadHeadroom(bytes: Buffer): boolean {
  if (bytes.byteOffset < DATA_ENVELOPE_HEADROOM || !unclaimedHeadroom.has(bytes.buffer)) return false;
  unclaimedHeadroom.delete(bytes.buffer);
  return true;
}

/**
 * A socket made by connectWithFrameReads as a Readable of its reads, one Buffer per read (object
 * mode: reads are never concatenated, which would copy them and lose their headroom), for code
 * that consumes a stream (an HTTP parser) rather than a sink; backpressure pauses the socket.
 * undefined for any other socket.
 */
export function frameReadsReadable(socket: Socket): Readable | undefined {
  if (!readTargets.has(socket)) return undefined;
  let ended = false;
  const readable = new Readable({
    objectMode: true,
    highWaterMark: 2,
    read() {
      socket.resume();
    },
    destroy(error, callback) {
      socket.destroy();
      callback(error);
    },
  });
  attachReadSink(socket, (bytes) => {
    if (readable.push(bytes)) return true;
    socket.pause();
    return false;
  });
  socket.on('end', () => {
    ended = true;
    readable.push(null);
  });
  socket.on('error', (error) => readable.destroy(error));
  socket.on('close', () => {
    if (!ended) readable.destroy();
  });
  return readable;
}

/**
 * A buffer of `size` bytes (at most SOCKET_READ_BYTES) for bytes a protocol engine makes itself (a
 * batch of result packets), with DATA_ENVELOPE_HEADROOM free bytes in front, like a socket read's:
 * written whole to a session stream (frameStreamDuplex), it leaves as one frame encoded around it,
 * without a copy. The writer fills it, writes it once, and never touches it again.
 */
export function frameDataBuffer(size: number): Buffer {
  const bytes = Buffer.allocUnsafeSlow(DATA_ENVELOPE_HEADROOM + size).subarray(DATA_ENVELOPE_HEADROOM);
  unclaimedHeadroom.add(bytes.buffer);
  return bytes;
}
