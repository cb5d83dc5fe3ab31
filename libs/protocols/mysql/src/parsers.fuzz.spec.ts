import fc from 'fast-check';
import { describe, it } from 'vitest';
import { parseColumnDefinition } from './column-definition';
import { parseHandshakeResponse, parseServerGreeting } from './handshake';
import { clientPayloads, framed, sampleColumns, serverPayloads } from './message-samples';
import { PacketReader } from './packet-reader';
import { MysqlProtocolError } from './protocol-error';
import { parseAuthSwitch, parseEofPacket, parseErrPacket, parseOkPacket } from './response-packets';
import { parseBinaryRow, parseTextRow } from './rows';

/** Every payload parser, as the session would call it on a packet of unknown content. */
const PAYLOAD_PARSERS: ((payload: Buffer) => unknown)[] = [
  parseServerGreeting,
  parseHandshakeResponse,
  parseColumnDefinition,
  (p) => parseColumnDefinition(p, { extendedMetadata: true }),
  parseOkPacket,
  parseErrPacket,
  parseEofPacket,
  parseAuthSwitch,
  (p) => parseTextRow(p, 3),
  (p) => parseBinaryRow(p, sampleColumns),
];

/** The only acceptable failure is the typed protocol error. */
function survives(run: () => void): boolean {
  try {
    run();
    return true;
  } catch (error) {
    if (error instanceof MysqlProtocolError) return true;
    throw error;
  }
}

const corpus = framed([...serverPayloads, ...clientPayloads]);
const mutated = fc
  .array(fc.tuple(fc.nat(corpus.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
  .map((edits) => {
    const copy = Buffer.from(corpus);
    for (const [at, value] of edits) copy[at] = value;
    return copy;
  });

describe('MySQL parser fuzzing (fast-check)', () => {
  it('the packet reader throws nothing but MysqlProtocolError on random and mutated bytes, split anywhere', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
          mutated,
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        (bytes, cuts) =>
          survives(() => {
            const reader = new PacketReader(1 << 20);
            const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
            let start = 0;
            for (const point of [...points, bytes.length]) {
              reader.parse(bytes.subarray(start, point), () => undefined);
              start = point;
            }
          }),
      ),
      { numRuns: 1500 },
    );
  });

  it('every payload parser throws nothing but MysqlProtocolError on random and mutated payloads', () => {
    const payloads = [...serverPayloads, ...clientPayloads];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
          fc
            .tuple(
              fc.nat(payloads.length - 1),
              fc.array(fc.tuple(fc.nat(400), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
            )
            .map(([index, edits]) => {
              const copy = Buffer.from(payloads[index]!);
              for (const [at, value] of edits) if (copy.length > 0) copy[at % copy.length] = value;
              return copy;
            }),
        ),
        (payload) => PAYLOAD_PARSERS.every((parse) => survives(() => parse(payload))),
      ),
      { numRuns: 1500 },
    );
  });
});
