import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WebSocketFrameReader, type WebSocketMessageEvent } from './websocket-frame.reader';

/** One frame as a client (masked) or a server (unmasked) sends it. */
function frame(
  opcode: number,
  payload: Buffer,
  options: { fin?: boolean; mask?: boolean; rsv?: number } = {},
): Buffer {
  const { fin = true, mask = false, rsv = 0 } = options;
  const length = payload.length;
  const head: number[] = [(fin ? 0x80 : 0) | rsv | opcode];
  const maskBit = mask ? 0x80 : 0;
  if (length < 126) head.push(maskBit | length);
  else if (length < 65536) head.push(maskBit | 126, length >> 8, length & 0xff);
  else
    head.push(
      maskBit | 127,
      0,
      0,
      0,
      0,
      (length >>> 24) & 0xff,
      (length >> 16) & 0xff,
      (length >> 8) & 0xff,
      length & 0xff,
    );
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const masked = Buffer.from(payload.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([Buffer.from(head), key, masked]);
}

/** Messages read from the bytes split at the given cuts: [opcode, payload] each. */
function read(wire: Buffer, cuts: readonly number[] = []): [number, string][] {
  const messages: [number, string][] = [];
  let current: [number, string] | undefined;
  const reader = new WebSocketFrameReader((event: WebSocketMessageEvent) => {
    if (event.type === 'start') current = [event.opcode, ''];
    else if (event.type === 'data') current![1] += event.bytes.toString('latin1');
    else messages.push(current!);
  });
  let start = 0;
  for (const cut of [...cuts, wire.length]) {
    reader.push(wire.subarray(start, cut));
    start = cut;
  }
  return messages;
}

describe('WebSocketFrameReader', () => {
  const wire = Buffer.concat([
    frame(2, Buffer.from('\x01hello'), { mask: true }),
    frame(2, Buffer.from('\x02par'), { fin: false }),
    frame(9, Buffer.from('ping')), // a control frame between fragments
    frame(0, Buffer.from('ts'), { mask: true }),
    frame(2, Buffer.alloc(300, 'x')),
    frame(1, Buffer.alloc(0)),
    frame(8, Buffer.from([3, 232])),
  ]);
  const expected: [number, string][] = [
    [2, '\x01hello'],
    [2, '\x02parts'],
    [2, 'x'.repeat(300)],
    [1, ''],
  ];

  it('reads data messages, masked or not, fragmented, around control frames, split at every byte', () => {
    for (let cut = 0; cut <= wire.length; cut++) expect(read(wire, [cut])).toEqual(expected);
    expect(read(wire, [...wire.keys()])).toEqual(expected);
  });

  it('reads any payload with 16- and 64-bit lengths, however split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 70_000 }), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 4 }),
        (payloads, mask, rawCuts) => {
          const bytes = Buffer.concat(payloads.map((p) => frame(2, Buffer.from(p), { mask })));
          const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
          expect(read(bytes, cuts)).toEqual(payloads.map((p) => [2, Buffer.from(p).toString('latin1')]));
        },
      ),
      { numRuns: 30 },
    );
  });

  it('refuses what it cannot read: compressed frames, stray continuations, reserved opcodes', () => {
    expect(() => read(frame(2, Buffer.from('x'), { rsv: 0x40 }))).toThrow(/extension/);
    expect(() => read(frame(0, Buffer.from('x')))).toThrow(/continuation/);
    expect(() => read(frame(3, Buffer.from('x')))).toThrow(/reserved opcode/);
    expect(() => read(frame(9, Buffer.alloc(0), { fin: false }))).toThrow(/control frame/);
  });
});
