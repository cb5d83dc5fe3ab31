import { Masker } from '@tollgate/masking';
import { describe, expect, it } from 'vitest';
import { BinaryCopyMasker, decodeBinaryCopy, encodeBinaryCopy } from './copy-binary';
import type { ColumnMask } from './row-masking';

const masker = Masker.compile([
  {
    detectors: [
      { kind: 'builtin', name: 'ssn' },
      { kind: 'builtin', name: 'email' },
    ],
    columns: ['customers.ssn'],
  },
]);
const int4 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n, 0);
  return b;
};
const text = (s: string) => Buffer.from(s, 'utf8');
const ROWS = [
  [int4(1), text('Ada'), text('078-05-1120'), text('note: ada@example.com')],
  [int4(2), null, text('219-09-9999'), text('nothing here')],
  [int4(3), text('Cy'), null, null],
];
const MASKS: ColumnMask[] = ['clear', 'clear', 'plain', 'clear'];

/** Feeds `stream` in the given pieces; returns the bytes that came out, or the error. */
function run(stream: Buffer, cuts: readonly number[], masks = MASKS) {
  const copy = new BinaryCopyMasker(masks, masker);
  const out: Buffer[] = [];
  const reasons = new Set<string>();
  let at = 0;
  for (const cut of [...cuts, stream.length]) {
    const result = copy.push(stream.subarray(at, cut));
    at = cut;
    if ('error' in result) return { error: result.error };
    out.push(result.data);
    for (const r of result.reasons) reasons.add(r);
  }
  const unfinished = copy.finish();
  return unfinished ? { error: unfinished } : { data: Buffer.concat(out), reasons };
}

describe('binary COPY masking', () => {
  const stream = encodeBinaryCopy(ROWS);
  const expected = [
    [int4(1), text('Ada'), null, null],
    [int4(2), null, null, text('nothing here')],
    [int4(3), text('Cy'), null, null],
  ];

  it('nulls masked columns and fields the detectors find something in; keeps the rest byte for byte', () => {
    const result = run(stream, []);
    expect(result.error).toBeUndefined();
    expect(decodeBinaryCopy(result.data as Buffer)).toEqual(expected);
    expect([...(result.reasons ?? [])].sort()).toEqual(['column', 'email']);
  });

  it('gives the same bytes however the stream is split across CopyData messages', () => {
    const whole = run(stream, []).data;
    for (let cut = 1; cut < stream.length; cut++) expect(run(stream, [cut]).data).toEqual(whole);
    expect(
      run(
        stream,
        Array.from({ length: stream.length - 1 }, (_, i) => i + 1),
      ).data,
    ).toEqual(whole);
  });

  it('masks every field whole when the row has another width than the lineage (fail closed)', () => {
    const result = run(stream, [], ['clear', 'plain']);
    expect(decodeBinaryCopy(result.data as Buffer)).toEqual(ROWS.map((row) => row.map(() => null)));
  });

  it('refuses what does not read as the format, and a stream cut inside a row', () => {
    expect(run(Buffer.from('1\tAda\t078-05-1120\tnote\n'), []).error).toMatch(/PGCOPY signature/);
    expect(run(stream.subarray(0, stream.length - 5), []).error).toMatch(/ended inside a row/);
    expect(run(Buffer.concat([stream, Buffer.from([0])]), []).error).toMatch(/after its end marker/);
    const negative = Buffer.from(stream);
    negative.writeInt16BE(-7, 19);
    expect(run(negative, []).error).toMatch(/-7 fields/);
  });
});
