import { connect, type Socket, type TcpNetConnectOpts } from 'node:net';

/**
 * Takes a socket's bytes as a view of a buffer that is reused for the next read, so it must be
 * consumed (copied) before returning. Returns false when it cannot take more for now; the caller
 * then pauses the socket itself.
 */
export type ReadSink = (bytes: Buffer) => boolean;

interface ReadTarget {
  sink: ReadSink | undefined;
  /** Bytes that arrived before a sink was attached (copies). */
  early: Buffer[];
}

/**
 * Largest read of a target socket, and so the largest frame a tcp relay sends. Each tunnel message
 * costs the same fixed work on every hop whatever its size, so a busy socket's reads are taken in
 * large pieces; still small next to a session's 4 MiB HTTP/2 window, so flow control stays
 * fine-grained.
 */
export const SOCKET_READ_BYTES = 256 * 1024;

/**
 * One read buffer for every socket of the process: each read is handed to its sink (which copies
 * it into a tunnel frame) before the next read can happen, since reads are delivered one at a time
 * on the event loop. Large, so one read of a busy socket fills one large frame.
 */
const sharedReadBuffer = Buffer.allocUnsafe(SOCKET_READ_BYTES);
const readTargets = new WeakMap<Socket, ReadTarget>();

/**
 * Connects a socket that reads straight into the shared buffer (Node's `onread`) instead of
 * allocating a buffer per read and emitting 'data'. The socket starts paused; `attachReadSink`
 * then takes its bytes.
 */
export function connectWithSharedReads(options: TcpNetConnectOpts): Socket {
  const target: ReadTarget = { sink: undefined, early: [] };
  const socket = connect({
    ...options,
    onread: {
      buffer: sharedReadBuffer,
      callback: (length, buffer) => {
        const bytes = (buffer as Buffer).subarray(0, length);
        if (target.sink) return target.sink(bytes);
        target.early.push(Buffer.from(bytes));
        return true;
      },
    },
  });
  socket.pause();
  readTargets.set(socket, target);
  return socket;
}

/**
 * Sends the socket's bytes to `sink` if it was made by connectWithSharedReads; false for any other
 * socket (its bytes come as 'data' events).
 */
export function attachReadSink(socket: Socket, sink: ReadSink): boolean {
  const target = readTargets.get(socket);
  if (!target) return false;
  target.sink = sink;
  for (const bytes of target.early.splice(0)) sink(bytes);
  return true;
}
