import { Duplex } from 'node:stream';
import { DATA_ENVELOPE_HEADROOM } from '@tollgate/proto';
import { dataFrame, halfCloseFrame, MAX_FRAME_DATA_BYTES, resetFrame, type FrameCodec } from './frame-codec';
import type { FrameStream } from './socket-relay';
import { claimReadHeadroom, SOCKET_READ_BYTES } from './socket-reads';

/** A read no larger than a socket read goes out as one frame (what a tcp relay sends too). */
const MAX_UNCOPIED_FRAME_BYTES = SOCKET_READ_BYTES;
/** Below this, a read written together with other bytes is copied into their frame. */
const MIN_UNCOPIED_BESIDE_BYTES = 4 * 1024;

/**
 * Presents a tunnel stream of StreamFrames as a byte Duplex, so a protocol engine written against
 * sockets (runPostgresSession, the SSH engine's servers and clients) runs unchanged over the tunnel. Backpressure is kept both ways: a
 * full tunnel stream holds the engine's writes, and a reader that stops reading pauses the stream,
 * which lets HTTP/2 flow control push back to the sender.
 */
export function frameStreamDuplex<In, Out>(stream: FrameStream<Out>, codec: FrameCodec<In, Out>): Duplex {
  const live = () => !stream.writableEnded && !stream.destroyed;
  const send = (message: Out): boolean => (live() ? stream.write(message) : true);

  /** Frames copied: several writes become one frame per 64 KiB, each copied once. */
  const sendCopied = (chunks: readonly Buffer[]): boolean => {
    let ok = true;
    const wrapRead = codec.wrapRead?.bind(codec);
    if (wrapRead) {
      // Several writes (a corked burst, or what queued while the stream was busy) become one frame
      // per 64 KiB, copied once into a buffer with room for the envelope in front, which the codec
      // writes there instead of copying the bytes again.
      let total = 0;
      for (const chunk of chunks) total += chunk.length;
      let index = 0;
      let within = 0;
      for (let offset = 0; offset < total; offset += MAX_FRAME_DATA_BYTES) {
        const size = Math.min(MAX_FRAME_DATA_BYTES, total - offset);
        const frame = Buffer.allocUnsafe(DATA_ENVELOPE_HEADROOM + size);
        let filled = DATA_ENVELOPE_HEADROOM;
        while (filled < frame.length) {
          const chunk = chunks[index]!;
          const copied = chunk.copy(
            frame,
            filled,
            within,
            Math.min(chunk.length, within + frame.length - filled),
          );
          filled += copied;
          within += copied;
          if (within === chunk.length) {
            index++;
            within = 0;
          }
        }
        ok = send(wrapRead(frame.subarray(DATA_ENVELOPE_HEADROOM)));
      }
    } else {
      const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      for (let offset = 0; offset < bytes.length; offset += MAX_FRAME_DATA_BYTES) {
        ok = send(codec.wrap(dataFrame(bytes.subarray(offset, offset + MAX_FRAME_DATA_BYTES))));
      }
    }
    return ok;
  };

  const sendBytes = (chunks: readonly Buffer[], callback: (error?: Error | null) => void) => {
    let ok = true;
    if (codec.wrapRead) {
      // A target's read relayed as it came (an HTTP response body read by connectWithFrameReads)
      // leaves as one frame encoded around it, without a copy; the rest is copied into frames. A
      // small read written with other bytes (a short response body after its head) is copied with
      // them instead: one frame costs less than two on every hop.
      let copies: Buffer[] = [];
      for (const chunk of chunks) {
        if (
          chunk.length <= MAX_UNCOPIED_FRAME_BYTES &&
          (chunks.length === 1 || chunk.length >= MIN_UNCOPIED_BESIDE_BYTES) &&
          claimReadHeadroom(chunk)
        ) {
          if (copies.length > 0) ok = sendCopied(copies);
          copies = [];
          ok = send(codec.wrapRead(chunk));
        } else {
          copies.push(chunk);
        }
      }
      if (copies.length > 0) ok = sendCopied(copies);
    } else {
      ok = sendCopied(chunks);
    }
    if (ok || !live()) callback();
    else stream.once('drain', () => callback());
  };

  const duplex = new Duplex({
    allowHalfOpen: false,
    // Generous, because pausing the tunnel stream also holds back the audit acks that travel on it.
    readableHighWaterMark: 1024 * 1024,
    read() {
      stream.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      sendBytes([chunk], callback);
    },
    // Many small protocol messages written together (a corked burst of DataRows) travel as few
    // frames: each tunnel message costs tens of microseconds on every hop, whatever its size.
    writev(chunks, callback) {
      sendBytes(
        chunks.map(({ chunk }) => chunk as Buffer),
        callback,
      );
    },
    final(callback) {
      // A database session has no half-close: when the engine is done, the session is over.
      send(codec.wrap(halfCloseFrame()));
      if (live()) stream.end();
      callback();
    },
    destroy(error, callback) {
      if (error) send(codec.wrap(resetFrame(error.message)));
      if (live()) stream.end();
      callback(error);
    },
  });

  stream.on('data', (message: In) => {
    const item = codec.unwrap(message);
    if (!item || !('frame' in item)) return;
    const kind = item.frame.kind;
    if (kind?.$case === 'data') {
      if (!duplex.push(kind.data)) stream.pause();
    } else if (kind?.$case === 'halfClose') {
      duplex.push(null);
    } else if (kind?.$case === 'reset') {
      duplex.destroy(new Error(kind.reset.message || 'the client reset the session'));
    }
  });
  stream.on('end', () => duplex.push(null));
  stream.on('error', (error: Error) => duplex.destroy(error));
  return duplex;
}
