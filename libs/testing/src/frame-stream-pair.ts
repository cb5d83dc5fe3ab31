import { Duplex } from 'node:stream';

/**
 * Two object-mode streams wired back to back, with backpressure (each end holds `highWaterMark`
 * frames), like the two ends of a session's gRPC stream. With `later`, frames arrive on a later
 * turn of the event loop, as over a network (ssh2 is not written for a peer that answers inside
 * its own write call).
 */
export function frameStreamPair(options: { highWaterMark?: number; later?: boolean } = {}): [Duplex, Duplex] {
  type End = Duplex & { resumeWriter?: () => void };
  const deliver = options.later ? (run: () => void) => setImmediate(run) : (run: () => void) => run();
  const ends: End[] = [];
  const make = (peer: () => End): End => {
    const end: End = new Duplex({
      objectMode: true,
      highWaterMark: options.highWaterMark ?? 4,
      read() {
        const resume = end.resumeWriter;
        end.resumeWriter = undefined;
        resume?.();
      },
      write(frame: unknown, _encoding, callback) {
        deliver(() => {
          const other = peer();
          if (other.push(frame)) callback();
          else other.resumeWriter = () => callback();
        });
      },
      final(callback) {
        deliver(() => {
          peer().push(null);
          callback();
        });
      },
    });
    return end;
  };
  ends.push(
    make(() => ends[1]),
    make(() => ends[0]),
  );
  return [ends[0], ends[1]];
}
