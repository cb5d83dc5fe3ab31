import { hash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/** The `prevHash` of the first event of every chain. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * One event as stored in a chain. `seq` numbers the chain's events from 1 without gaps; it and the
 * chain's id are hashed with the event, so a removed or moved event cannot be hidden by renumbering,
 * and an event cannot be spliced from one chain into another.
 */
export interface ChainedRecord<E = unknown> {
  readonly chain: string;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  readonly event: E;
}

/** Where a chain ends: its last sequence number (0 when empty) and hash (GENESIS_HASH when empty). */
export interface ChainHead {
  readonly chain: string;
  readonly seq: number;
  readonly hash: string;
}

export function genesisHead(chain: string): ChainHead {
  return { chain, seq: 0, hash: GENESIS_HASH };
}

/** `sha256(prevHash + canonical({chain, seq, event}))`, hex. */
export function linkHash(prevHash: string, chain: string, seq: number, event: unknown): string {
  return hash('sha256', prevHash + canonicalJson({ chain, seq, event }), 'hex');
}

/**
 * `linkHash` for an event already serialized with `canonicalJson` (and a safe-integer `seq`): the
 * same digest, so a writer that also stores the canonical text serializes each event once.
 */
export function linkHashOfCanonical(
  prevHash: string,
  chain: string,
  seq: number,
  canonicalEvent: string,
): string {
  return hash(
    'sha256',
    `${prevHash}{"chain":${JSON.stringify(chain)},"event":${canonicalEvent},"seq":${seq}}`,
    'hex',
  );
}

/** Appends an event after `head`: returns the record to store and the new head. */
export function appendToChain<E>(head: ChainHead, event: E): { record: ChainedRecord<E>; head: ChainHead } {
  const seq = head.seq + 1;
  const hash = linkHash(head.hash, head.chain, seq, event);
  return {
    record: { chain: head.chain, seq, prevHash: head.hash, hash, event },
    head: { chain: head.chain, seq, hash },
  };
}

export type ChainFault =
  /** The record's content (event, seq, chain or prevHash) does not match its hash, or a record was replaced. */
  | 'altered'
  /** One or more sequence numbers are missing. */
  | 'removed'
  /** Records are present but out of order. */
  | 'reordered'
  /** A record appears twice. */
  | 'duplicated'
  /** The chain ends before the head known from elsewhere. */
  | 'truncated'
  /** The record is not a chain record at all (wrong types, foreign chain, unserializable event). */
  | 'malformed';

export type ChainVerification =
  | { readonly ok: true; readonly head: ChainHead; readonly count: number }
  | {
      readonly ok: false;
      /** Index into the given records of the first bad one (records.length when the tail is missing). */
      readonly firstBadIndex: number;
      /** The sequence number expected at that position. */
      readonly expectedSeq: number;
      readonly reason: ChainFault;
      readonly detail: string;
    };

export interface VerifyOptions {
  /** The head the records continue from (default: the genesis of the first record's chain). */
  readonly from?: ChainHead;
  /** A head known from elsewhere (e.g. kept apart from the events); detects a truncated tail. */
  readonly expectedHead?: Pick<ChainHead, 'seq' | 'hash'>;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Checks records in chain order and names the first bad one. Each record must hash to its `hash`
 * (else `altered`), carry the next sequence number (a gap is `removed` unless the missing number
 * turns up later, which is `reordered`; a repeat is `duplicated`), and point at its predecessor's
 * hash (a record that hashes correctly but does not link was replaced wholesale: `altered`,
 * naming the replaced one). Never throws.
 */
export function verifyChain(
  records: readonly ChainedRecord[],
  options: VerifyOptions = {},
): ChainVerification {
  const first = records[0];
  const from = options.from ?? genesisHead(first?.chain ?? '');
  let prev: ChainHead = from;
  const seen = new Set<number>();

  for (const [i, record] of records.entries()) {
    const expectedSeq = prev.seq + 1;
    const fail = (reason: ChainFault, detail: string, index = i): ChainVerification => ({
      ok: false,
      firstBadIndex: index,
      expectedSeq: index === i ? expectedSeq : expectedSeq - 1,
      reason,
      detail,
    });

    const shape = malformation(record, from.chain);
    if (shape !== null) return fail('malformed', shape);
    let computed: string;
    try {
      computed = linkHash(record.prevHash, record.chain, record.seq, record.event);
    } catch (error) {
      return fail(
        'malformed',
        `event cannot be serialized: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    if (computed !== record.hash) return fail('altered', `record ${record.seq} does not match its hash`);

    if (record.seq < expectedSeq) {
      return seen.has(record.seq)
        ? fail('duplicated', `record ${record.seq} appears again`)
        : fail('reordered', `record ${record.seq} comes after record ${prev.seq}`);
    }
    if (record.seq > expectedSeq) {
      const later = records.slice(i + 1).some((r) => isRecordLike(r) && r.seq === expectedSeq);
      return later
        ? fail('reordered', `record ${record.seq} comes before record ${expectedSeq}`)
        : fail(
            'removed',
            record.seq === expectedSeq + 1
              ? `record ${expectedSeq} is missing`
              : `records ${expectedSeq} to ${record.seq - 1} are missing`,
          );
    }
    if (record.prevHash !== prev.hash) {
      if (i === 0) return fail('altered', `record ${record.seq} does not continue from the expected head`);
      // The record hashes correctly and carries the right number, but does not point at its
      // predecessor. If its successor still points at it, it is the original and the predecessor
      // was rewritten (and rehashed); otherwise it is itself the forgery.
      const next = records[i + 1];
      const linkedFromNext = isRecordLike(next) && next.prevHash === record.hash;
      return linkedFromNext
        ? fail('altered', `record ${prev.seq} was replaced: record ${record.seq} does not link to it`, i - 1)
        : fail('altered', `record ${record.seq} does not link to record ${prev.seq}`);
    }
    seen.add(record.seq);
    prev = { chain: from.chain, seq: record.seq, hash: record.hash };
  }

  const expected = options.expectedHead;
  if (expected) {
    if (prev.seq < expected.seq) {
      return {
        ok: false,
        firstBadIndex: records.length,
        expectedSeq: prev.seq + 1,
        reason: 'truncated',
        detail:
          expected.seq === prev.seq + 1
            ? `record ${expected.seq} is missing from the end`
            : `records ${prev.seq + 1} to ${expected.seq} are missing from the end`,
      };
    }
    const atHead = records.findIndex((r) => r.seq === expected.seq);
    if (atHead >= 0 && records[atHead]!.hash !== expected.hash) {
      return {
        ok: false,
        firstBadIndex: atHead,
        expectedSeq: expected.seq,
        reason: 'altered',
        detail: `record ${expected.seq} differs from the known head`,
      };
    }
  }
  return { ok: true, head: prev, count: records.length };
}

function isRecordLike(value: unknown): value is ChainedRecord {
  return typeof value === 'object' && value !== null && 'seq' in value;
}

function malformation(record: unknown, chain: string): string | null {
  if (typeof record !== 'object' || record === null) return 'not a record';
  const r = record as Partial<Record<keyof ChainedRecord, unknown>>;
  if (typeof r.chain !== 'string') return 'chain is not a string';
  if (r.chain !== chain) return `record belongs to chain "${r.chain}", not "${chain}"`;
  if (typeof r.seq !== 'number' || !Number.isSafeInteger(r.seq) || r.seq < 1)
    return 'seq is not a positive integer';
  if (typeof r.prevHash !== 'string' || !HEX64.test(r.prevHash)) return 'prevHash is not a sha256 hex digest';
  if (typeof r.hash !== 'string' || !HEX64.test(r.hash)) return 'hash is not a sha256 hex digest';
  if (!('event' in r)) return 'event is missing';
  return null;
}
