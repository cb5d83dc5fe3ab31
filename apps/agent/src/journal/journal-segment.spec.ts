import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, linkHashOfCanonical } from '@tollgate/audit';
import { formatRecord, parseSegment, type JournalRecord } from './journal-segment';

function chainOf(events: readonly Record<string, unknown>[], chain = 'c0ffee00-chain'): JournalRecord[] {
  let prevHash = GENESIS_HASH;
  return events.map((e, i) => {
    const event = canonicalJson(e);
    const hash = linkHashOfCanonical(prevHash, chain, i + 1, event);
    const record = { seq: i + 1, prevHash, hash, event };
    prevHash = hash;
    return record;
  });
}

const eventArb = fc.record({
  type: fc.constant('command'),
  command: fc.string({ unit: 'grapheme', maxLength: 40 }),
  rows: fc.nat(),
});

describe('journal segment format', () => {
  it('reads back what it wrote', () => {
    const records = chainOf([
      { type: 'command', command: 'select 1\n;' },
      { type: 'command', command: 'é' },
    ]);
    const bytes = Buffer.from(records.map(formatRecord).join(''));
    expect(parseSegment(bytes)).toEqual({ records, validBytes: bytes.length, tornBytes: 0, zeroBytes: 0 });
  });

  it('zeros written ahead of the records are not a torn tail; a record torn before them is', () => {
    const records = chainOf([{ a: 1 }, { a: 2 }]);
    const good = Buffer.from(records.map(formatRecord).join(''));
    const zeros = Buffer.alloc(1000);
    expect(parseSegment(Buffer.concat([good, zeros]))).toEqual({
      records,
      validBytes: good.length,
      tornBytes: 0,
      zeroBytes: 1000,
    });
    const torn = Buffer.from(formatRecord(chainOf([{ a: 1 }, { a: 2 }, { a: 3 }])[2]).slice(0, 20));
    expect(parseSegment(Buffer.concat([good, torn, zeros]))).toEqual({
      records,
      validBytes: good.length,
      tornBytes: torn.length,
      zeroBytes: 1000,
    });
  });

  it('any crash point leaves a readable prefix: exactly the records written whole, the rest torn', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { minLength: 1, maxLength: 8 }), fc.nat(), (events, cutSeed) => {
        const records = chainOf(events);
        const lines = records.map((r) => Buffer.from(formatRecord(r)));
        const bytes = Buffer.concat(lines);
        const cut = cutSeed % (bytes.length + 1);
        const parsed = parseSegment(bytes.subarray(0, cut));
        let whole = 0;
        let end = 0;
        while (whole < lines.length && end + lines[whole].length <= cut) end += lines[whole++].length;
        expect(parsed.records).toEqual(records.slice(0, whole));
        expect(parsed.validBytes).toBe(end);
        expect(parsed.tornBytes).toBe(cut - end);
      }),
    );
  });

  it('a torn tail of garbage (a sector half written) is detected, not read as a record', () => {
    fc.assert(
      fc.property(
        fc.array(eventArb, { minLength: 0, maxLength: 5 }),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (events, garbage) => {
          const records = chainOf(events);
          const good = Buffer.from(records.map(formatRecord).join(''));
          // Garbage that ends in a non-zero byte (trailing zeros read as space written ahead).
          const tail = Buffer.from([...garbage.map((b) => (b === 0x0a ? 0x20 : b)), 0x41]);
          const parsed = parseSegment(Buffer.concat([good, tail]));
          expect(parsed.records).toEqual(records);
          expect(parsed.validBytes).toBe(good.length);
          expect(parsed.tornBytes).toBe(tail.length);
        },
      ),
    );
  });

  it('stops at a line that is not a record, and at a sequence number out of order', () => {
    const records = chainOf([{ a: 1 }, { a: 2 }, { a: 3 }]);
    const [one, two, three] = records.map(formatRecord);
    expect(parseSegment(Buffer.from(`${one}not a record\n${two}`)).records).toEqual([records[0]]);
    expect(parseSegment(Buffer.from(`${one}${three}`)).records).toEqual([records[0]]);
    expect(parseSegment(Buffer.from(`${one}${two.replace('{"a":2}', '{"a":')}`)).records).toEqual([
      records[0],
    ]);
  });
});
