import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json';
import {
  appendToChain,
  genesisHead,
  GENESIS_HASH,
  linkHash,
  linkHashOfCanonical,
  verifyChain,
  type ChainedRecord,
  type ChainHead,
} from './hash-chain';

interface TestEvent {
  readonly type: string;
  readonly n: number;
}

function chain(
  length: number,
  id = 'session:s1',
  from: ChainHead = genesisHead(id),
): ChainedRecord<TestEvent>[] {
  const records: ChainedRecord<TestEvent>[] = [];
  let head = from;
  for (let n = 0; n < length; n++) {
    const appended = appendToChain(head, { type: 'command', n });
    records.push(appended.record);
    head = appended.head;
  }
  return records;
}

/** What an attacker with write access to the store can do: change a record and recompute its hash. */
function rehash(record: ChainedRecord<TestEvent>): ChainedRecord<TestEvent> {
  return { ...record, hash: linkHash(record.prevHash, record.chain, record.seq, record.event) };
}

describe('hash chain', () => {
  it('hashes sha256(prevHash + canonical({chain, seq, event})) from a zero genesis', () => {
    const [first] = chain(1);
    const expected = createHash('sha256')
      .update(GENESIS_HASH + canonicalJson({ chain: 'session:s1', seq: 1, event: { type: 'command', n: 0 } }))
      .digest('hex');
    expect(first).toEqual({
      chain: 'session:s1',
      seq: 1,
      prevHash: GENESIS_HASH,
      hash: expected,
      event: { type: 'command', n: 0 },
    });
  });

  it('gives the same digest from an event already in canonical form', () => {
    fc.assert(
      fc.property(fc.string(), fc.nat(), fc.dictionary(fc.string(), fc.jsonValue()), (id, seq, event) => {
        expect(linkHashOfCanonical(GENESIS_HASH, id, seq + 1, canonicalJson(event))).toBe(
          linkHash(GENESIS_HASH, id, seq + 1, event),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('links each record to the one before and numbers them from 1', () => {
    const records = chain(3);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(records[1]!.prevHash).toBe(records[0]!.hash);
    expect(records[2]!.prevHash).toBe(records[1]!.hash);
  });

  it('gives the same event different hashes in different chains', () => {
    expect(chain(1, 'global')[0]!.hash).not.toBe(chain(1, 'session:s1')[0]!.hash);
  });

  describe('verifyChain', () => {
    it('accepts an intact chain and returns its head', () => {
      const records = chain(5);
      expect(verifyChain(records)).toEqual({
        ok: true,
        head: { chain: 'session:s1', seq: 5, hash: records[4]!.hash },
        count: 5,
      });
    });

    it('accepts an empty chain', () => {
      expect(verifyChain([])).toMatchObject({ ok: true, count: 0, head: { seq: 0, hash: GENESIS_HASH } });
    });

    it('accepts a window that continues from a known head', () => {
      const records = chain(6);
      const from = { chain: 'session:s1', seq: 3, hash: records[2]!.hash };
      expect(verifyChain(records.slice(3), { from })).toMatchObject({ ok: true, count: 3 });
      expect(verifyChain(records.slice(3))).toMatchObject({ ok: false, firstBadIndex: 0, reason: 'removed' });
    });

    it.each<[string, (records: ChainedRecord<TestEvent>[]) => ChainedRecord<TestEvent>[], object]>([
      [
        'an event altered in place',
        (r) => r.map((x, i) => (i === 2 ? { ...x, event: { ...x.event, n: 99 } } : x)),
        { firstBadIndex: 2, reason: 'altered', expectedSeq: 3 },
      ],
      [
        'an event altered and rehashed',
        (r) => r.map((x, i) => (i === 2 ? rehash({ ...x, event: { ...x.event, n: 99 } }) : x)),
        { firstBadIndex: 2, reason: 'altered', expectedSeq: 3 },
      ],
      [
        'a hash overwritten',
        (r) => r.map((x, i) => (i === 1 ? { ...x, hash: 'f'.repeat(64) } : x)),
        { firstBadIndex: 1, reason: 'altered' },
      ],
      ['the first event removed', (r) => r.slice(1), { firstBadIndex: 0, reason: 'removed', expectedSeq: 1 }],
      [
        'a middle event removed',
        (r) => r.filter((_, i) => i !== 2),
        { firstBadIndex: 2, reason: 'removed', expectedSeq: 3, detail: 'record 3 is missing' },
      ],
      [
        'several events removed',
        (r) => [...r.slice(0, 1), ...r.slice(4)],
        { firstBadIndex: 1, reason: 'removed', detail: 'records 2 to 4 are missing' },
      ],
      [
        'two events swapped',
        (r) => [r[0]!, r[2]!, r[1]!, ...r.slice(3)],
        { firstBadIndex: 1, reason: 'reordered', expectedSeq: 2 },
      ],
      [
        'the last two swapped',
        (r) => [...r.slice(0, 4), r[5]!, r[4]!],
        { firstBadIndex: 4, reason: 'reordered' },
      ],
      [
        'an event repeated',
        (r) => [...r.slice(0, 3), r[1]!, ...r.slice(3)],
        { firstBadIndex: 3, reason: 'duplicated' },
      ],
      [
        'an event renumbered to hide a removal',
        (r) => [r[0]!, rehash({ ...r[2]!, seq: 2 }), ...r.slice(3)],
        { firstBadIndex: 1, reason: 'altered' },
      ],
      [
        'a foreign chain spliced in',
        (r) => [r[0]!, chain(2, 'session:other')[1]!, ...r.slice(2)],
        { firstBadIndex: 1, reason: 'malformed' },
      ],
      [
        'a record that is not a record',
        (r) => [r[0]!, { nonsense: true } as unknown as ChainedRecord<TestEvent>, ...r.slice(2)],
        { firstBadIndex: 1, reason: 'malformed' },
      ],
      [
        'an event that no longer serializes',
        (r) => r.map((x, i) => (i === 3 ? { ...x, event: { type: 'x', n: NaN } } : x)),
        { firstBadIndex: 3, reason: 'malformed' },
      ],
    ])('detects %s', (_name, tamper, expected) => {
      expect(verifyChain(tamper(chain(6)))).toMatchObject({ ok: false, ...expected });
    });

    it('names the predecessor when a whole record was replaced and rehashed', () => {
      const records = chain(5);
      // A forged record 3 that hashes correctly and links to record 2, but record 4 still points
      // at the original record 3.
      const forged = rehash({ ...records[2]!, event: { type: 'command', n: 42 } });
      const result = verifyChain([...records.slice(0, 2), forged, ...records.slice(3)]);
      expect(result).toMatchObject({ ok: false, firstBadIndex: 2, expectedSeq: 3, reason: 'altered' });
    });

    it('detects a truncated tail only against a head known from elsewhere', () => {
      const records = chain(6);
      const head = { seq: 6, hash: records[5]!.hash };
      expect(verifyChain(records.slice(0, 4))).toMatchObject({ ok: true });
      expect(verifyChain(records.slice(0, 4), { expectedHead: head })).toMatchObject({
        ok: false,
        firstBadIndex: 4,
        expectedSeq: 5,
        reason: 'truncated',
        detail: 'records 5 to 6 are missing from the end',
      });
      expect(verifyChain(records, { expectedHead: head })).toMatchObject({ ok: true });
    });

    it('detects a rewritten tail against a head known from elsewhere', () => {
      const records = chain(4);
      const head = { seq: 4, hash: records[3]!.hash };
      const rewritten = [
        ...records.slice(0, 3),
        rehash({ ...records[3]!, event: { type: 'command', n: 7 } }),
      ];
      expect(verifyChain(rewritten)).toMatchObject({ ok: true });
      expect(verifyChain(rewritten, { expectedHead: head })).toMatchObject({
        ok: false,
        firstBadIndex: 3,
        reason: 'altered',
      });
    });

    it('finds any single alteration, removal or swap, at the right place', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 2, max: 12 }),
          fc.nat(),
          fc.constantFrom('alter', 'remove', 'swap'),
          (length, at, kind) => {
            const records = chain(length);
            const i = at % (length - 1);
            const tampered =
              kind === 'alter'
                ? records.map((x, j) => (j === i ? { ...x, event: { ...x.event, n: -1 } } : x))
                : kind === 'remove'
                  ? records.filter((_, j) => j !== i)
                  : [...records.slice(0, i), records[i + 1]!, records[i]!, ...records.slice(i + 2)];
            const expected = { alter: 'altered', remove: 'removed', swap: 'reordered' }[kind];
            expect(verifyChain(tampered)).toMatchObject({ ok: false, firstBadIndex: i, reason: expected });
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
