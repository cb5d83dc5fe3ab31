import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedBodyDecoder, encodeChunk, LAST_CHUNK } from './chunked-body.decoder';

const WIRE = '5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Sum: 1\r\n\r\n';

function decodeSplit(wire: Buffer, cuts: readonly number[]): { payload: string; done: boolean } {
  const decoder = new ChunkedBodyDecoder();
  let payload = '';
  let start = 0;
  for (const cut of [...cuts, wire.length]) {
    for (const piece of decoder.decode(wire.subarray(start, cut))) payload += piece.toString('latin1');
    start = cut;
  }
  return { payload, done: decoder.done };
}

describe('ChunkedBodyDecoder', () => {
  it('reads the payload split at every byte, extensions and trailers skipped', () => {
    const wire = Buffer.from(WIRE, 'latin1');
    for (let cut = 0; cut <= wire.length; cut++) {
      expect(decodeSplit(wire, [cut])).toEqual({ payload: 'hello 0123456789', done: true });
    }
    expect(decodeSplit(wire, [...wire.keys()])).toEqual({ payload: 'hello 0123456789', done: true });
  });

  it('round-trips what encodeChunk writes, however it is split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (payloads, rawCuts) => {
          const wire = Buffer.concat([...payloads.map((p) => encodeChunk(Buffer.from(p))), LAST_CHUNK]);
          const cuts = [...new Set(rawCuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          const expected = Buffer.concat(payloads.map((p) => Buffer.from(p))).toString('latin1');
          expect(decodeSplit(wire, cuts)).toEqual({ payload: expected, done: true });
        },
      ),
    );
  });

  it('refuses malformed framing', () => {
    for (const bad of ['zz\r\n', '3\r\nabcX', '3\nabc', '0\r\n\r\nmore']) {
      expect(() => new ChunkedBodyDecoder().decode(Buffer.from(bad, 'latin1'))).toThrow();
    }
  });
});
