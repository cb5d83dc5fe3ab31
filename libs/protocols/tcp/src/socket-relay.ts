import type { Socket } from 'node:net';
import { dataFrame, halfCloseFrame, MAX_FRAME_DATA_BYTES, resetFrame, type FrameCodec } from './frame-codec';
import { closeRefusal, type Refusal, type SessionWatch } from './session-refusal';
import { attachReadSink } from './socket-reads';
import { resetSocket } from './socket-reset';

/** How a relay ended, for the caller's log line and the user's error message. */
export type RelayOutcome =
  | { readonly kind: 'normal' }
  /** The socket failed (e.g. ECONNRESET); a reset frame was sent to the other side. */
  | { readonly kind: 'socket-error'; readonly message: string }
  /** The other side sent a reset; the socket was reset too. */
  | { readonly kind: 'remote-reset'; readonly message: string }
  /** The tunnel stream failed or ended before both directions finished; the socket was reset. */
  | { readonly kind: 'tunnel-lost'; readonly message: string };

/** The parts of a tunnel stream (a grpc-js client or server duplex stream) the relay uses. */
export interface FrameStream<Out> extends NodeJS.EventEmitter {
  write(message: Out): boolean;
  end(): unknown;
  pause(): unknown;
  resume(): unknown;
  readonly writableEnded: boolean;
  readonly destroyed: boolean;
}

/**
 * Relays one TCP socket over one tunnel stream of StreamFrames, in both directions, with
 * backpressure: a full stream pauses the socket, a full socket pauses the stream, so neither side
 * buffers more than a frame or two and HTTP/2 per-stream flow control bounds the rest.
 *
 * TCP semantics are kept: a FIN becomes a half_close frame (the other direction stays open), a
 * socket error becomes a reset frame, a reset frame resets the socket. The relay ends its own
 * writing half of the stream when it finishes; the socket must have `allowHalfOpen` set.
 *
 * With a `watch` (the protocol's SessionWatch), a session the other side ends early (closed by the
 * gateway, a reset, a lost tunnel) ends for the client with the reason in its own protocol (for
 * PostgreSQL a FATAL ErrorResponse) where the protocol can say it, instead of a bare reset.
 */
export function relaySocket<In, Out>(
  socket: Socket,
  stream: FrameStream<Out>,
  codec: FrameCodec<In, Out>,
  watch?: SessionWatch,
): Promise<RelayOutcome> {
  return new Promise<RelayOutcome>((resolve) => {
    let sentHalfClose = false;
    let receivedHalfClose = false;
    let finished = false;
    let lastClose: { reason: string; code?: Parameters<typeof closeRefusal>[0] } | undefined;
    /** Ends the socket early: with the refusal in protocol where it can be said, else a reset. */
    const cutSocket = (refusal: Refusal) => {
      const ending = watch?.ending({ ...refusal, message: `session ended: ${refusal.message}` });
      if (!ending || socket.destroyed || !socket.writable) {
        resetSocket(socket);
        return;
      }
      socket.end(ending);
      socket.once('end', () => socket.destroy());
      setTimeout(() => socket.destroy(), 5_000).unref();
    };

    const send = (message: Out): boolean => {
      if (stream.writableEnded || stream.destroyed) return true;
      return stream.write(message);
    };
    const endStream = () => {
      if (!stream.writableEnded && !stream.destroyed) stream.end();
    };
    const finish = (outcome: RelayOutcome) => {
      if (finished) return;
      finished = true;
      endStream();
      resolve(outcome);
    };
    const bothDone = () => sentHalfClose && receivedHalfClose;

    let waitingForStreamDrain = false;
    const waitForStreamDrain = () => {
      if (waitingForStreamDrain) return;
      waitingForStreamDrain = true;
      socket.pause();
      stream.once('drain', () => {
        waitingForStreamDrain = false;
        socket.resume();
      });
    };
    // A socket from connectWithFrameReads: each read becomes one frame, encoded around the bytes
    // where they were read (the stream then copies them into its own message once).
    const wrapRead = codec.wrapRead
      ? (bytes: Buffer) => codec.wrapRead!(bytes)
      : (bytes: Buffer) => codec.wrap(dataFrame(bytes));
    const frameReads = attachReadSink(socket, (bytes) => {
      watch?.fromClient(bytes);
      if (send(wrapRead(bytes))) return true;
      waitForStreamDrain();
      return false;
    });
    if (!frameReads) {
      socket.on('data', (chunk: Buffer) => {
        watch?.fromClient(chunk);
        let ok = true;
        for (let offset = 0; offset < chunk.length; offset += MAX_FRAME_DATA_BYTES) {
          ok = send(codec.wrap(dataFrame(chunk.subarray(offset, offset + MAX_FRAME_DATA_BYTES))));
        }
        if (!ok) waitForStreamDrain();
      });
    }
    socket.on('end', () => {
      sentHalfClose = true;
      send(codec.wrap(halfCloseFrame()));
      if (bothDone() && socket.writableFinished) finish({ kind: 'normal' });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (finished) return;
      const message = error.code ? `${error.code}: ${error.message}` : error.message;
      send(codec.wrap(resetFrame(message)));
      finish({ kind: 'socket-error', message });
    });
    socket.on('close', () => {
      if (bothDone()) finish({ kind: 'normal' });
      else if (!finished) {
        send(codec.wrap(resetFrame('connection closed')));
        finish({ kind: 'socket-error', message: 'connection closed' });
      }
    });

    let waitingForSocketDrain = false;
    stream.on('data', (message: In) => {
      const unwrapped = codec.unwrap(message);
      if (!unwrapped) return;
      if ('closeReason' in unwrapped) {
        lastClose = { reason: unwrapped.closeReason, code: unwrapped.closeCode };
        return;
      }
      const { frame } = unwrapped;
      switch (frame.kind?.$case) {
        case 'data':
          watch?.toClient(frame.kind.data);
          if (!socket.write(frame.kind.data) && !waitingForSocketDrain) {
            waitingForSocketDrain = true;
            stream.pause();
            socket.once('drain', () => {
              waitingForSocketDrain = false;
              stream.resume();
            });
          }
          break;
        case 'halfClose':
          receivedHalfClose = true;
          socket.end();
          break;
        case 'reset':
          cutSocket(
            lastClose
              ? closeRefusal(lastClose.code, lastClose.reason)
              : { kind: 'lost', message: frame.kind.reset.message },
          );
          finish({ kind: 'remote-reset', message: frame.kind.reset.message });
          break;
        default:
          break;
      }
    });
    stream.on('end', () => {
      if (finished) return;
      if (bothDone()) {
        finish({ kind: 'normal' });
        return;
      }
      const message = lastClose?.reason ?? 'the tunnel closed the session';
      cutSocket(closeRefusal(lastClose?.code, message));
      finish({ kind: 'tunnel-lost', message });
    });
    stream.on('error', (error: Error & { details?: string }) => {
      if (finished) return;
      const message = lastClose?.reason ?? error.details ?? error.message;
      cutSocket(
        lastClose
          ? closeRefusal(lastClose.code, message)
          : { kind: 'lost', message: `the tunnel was lost: ${message}` },
      );
      finish({ kind: 'tunnel-lost', message });
    });
    if (socket.destroyed) {
      // The local client went away while the session was being opened.
      send(codec.wrap(resetFrame('connection closed before the session opened')));
      finish({ kind: 'socket-error', message: 'connection closed before the session opened' });
      return;
    }
    stream.resume();
    socket.resume();
  });
}
