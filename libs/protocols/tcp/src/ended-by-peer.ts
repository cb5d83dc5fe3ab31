import type { Duplex } from 'node:stream';

/**
 * Waits (at most `timeoutMs`) for the peer to end a stream after a client said goodbye (PostgreSQL
 * Terminate, MySQL COM_QUIT): ending our side first would cut a tunnelled session short, recorded as
 * lost instead of ended normally. Anything the peer still sends is read and dropped.
 */
export function endedByPeer(stream: Duplex, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    const done = () => {
      clearTimeout(timer);
      stream.off('end', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
    stream.on('data', () => undefined);
    stream.resume();
  });
}
