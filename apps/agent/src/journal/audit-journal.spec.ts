import {
  appendFileSync,
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
  write as fsWrite,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { verifyChain } from '@tollgate/audit';
import type { AgentTunnelWireClient } from '@tollgate/proto';
import { AuditJournal, LeftoverJournal, type SegmentWrite } from './audit-journal';
import { JournalShipper } from './journal-shipper';
import { parseSegment } from './journal-segment';

const logger = pino({ level: 'silent' });
const roots: string[] = [];
const newRoot = () => {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-journal-'));
  roots.push(root);
  return root;
};
afterEach(() => {
  vi.restoreAllMocks();
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** What a held write was asked to write, and how to let it go on (or fail). */
interface HeldWrite {
  readonly text: string;
  release(): void;
  fail(error: Error): void;
}

/**
 * The journal's segment writes, passed through until `hold()`; from then on each is held until the
 * test releases it, so the test decides when a group commit finishes (the writes are real once
 * released). `passThrough()` lets later writes go on at once again.
 */
function holdableWrites() {
  let held: HeldWrite[] | undefined;
  const write: SegmentWrite = (fd, buffer, offset, length, position, callback) => {
    if (!held) return fsWrite(fd, buffer, offset, length, position, callback);
    held.push({
      text: buffer.toString('utf8', offset, offset + length).replace(/\0+$/, ''),
      release: () => fsWrite(fd, buffer, offset, length, position, callback),
      fail: (error) => callback(error, 0),
    });
  };
  return {
    write,
    hold: (): HeldWrite[] => (held = []),
    passThrough: () => void (held = undefined),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 10));
const until = async (what: () => boolean) => {
  for (let i = 0; i < 500 && !what(); i++) await tick();
  expect(what()).toBe(true);
};

function segmentOf(dir: string): string {
  return join(
    dir,
    readdirSync(dir).find((f) => f.startsWith('segment-'))!,
  );
}

describe('AuditJournal', () => {
  it('makes concurrent appends durable in shared writes, as one verifiable chain on disk', async () => {
    const journal = await AuditJournal.create(newRoot(), logger);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => journal.append({ type: 'command', command: `q${i}` })),
    );
    expect(journal.stats.records).toBe(50);
    expect(journal.stats.writes).toBeLessThan(50);
    const parsed = parseSegment(readFileSync(segmentOf(journal.dir)));
    expect(parsed.tornBytes).toBe(0);
    const result = verifyChain(
      parsed.records.map((r) => ({
        chain: journal.chain,
        seq: r.seq,
        prevHash: r.prevHash,
        hash: r.hash,
        event: JSON.parse(r.event) as unknown,
      })),
    );
    expect(result.ok).toBe(true);
    expect(journal.unacknowledged().map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('answers appends in the order they were made, and writes them in that order', async () => {
    const journal = await AuditJournal.create(newRoot(), logger);
    const answered: number[] = [];
    const appends: Promise<void>[] = [];
    for (let wave = 0; wave < 20; wave++) {
      for (let i = 0; i < 10; i++) {
        const n = wave * 10 + i;
        appends.push(journal.append({ n }).then(() => void answered.push(n)));
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(appends);
    expect(answered).toEqual(Array.from({ length: 200 }, (_, n) => n));
    const parsed = parseSegment(readFileSync(segmentOf(journal.dir)));
    expect(parsed.records.map((r) => (JSON.parse(r.event) as { n: number }).n)).toEqual(answered);
    expect(parsed.tornBytes).toBe(0);
  });

  it('starts a commit for appends made while another is in flight, and answers them in order', async () => {
    const writes = holdableWrites();
    const journal = await AuditJournal.create(newRoot(), logger, writes.write);
    await journal.append({ n: 0 }); // the segment's first write grows it: it goes alone
    const held = writes.hold();
    const answered: number[] = [];
    const first = journal.append({ n: 1 }).then(() => void answered.push(1));
    await until(() => held.length === 1);
    // Arrive while the first commit is in flight: written at once, together, not after it.
    const second = [2, 3, 4].map((n) => journal.append({ n }).then(() => void answered.push(n)));
    await until(() => held.length === 2);
    expect(held[1].text.split('\n').filter(Boolean)).toHaveLength(3);
    // The second commit finishes first, but its records chain on the first's: nobody is answered yet.
    held[1].release();
    await tick();
    expect(answered).toEqual([]);
    held[0].release();
    await Promise.all([first, ...second]);
    expect(answered).toEqual([1, 2, 3, 4]);
    expect(journal.stats).toEqual({ writes: 3, records: 5 });
    const parsed = parseSegment(readFileSync(segmentOf(journal.dir)));
    expect(parsed.records.map((r) => (JSON.parse(r.event) as { n: number }).n)).toEqual([0, 1, 2, 3, 4]);
    expect(parsed.tornBytes).toBe(0);
  });

  it('says at each append the seq that event gets, whether written, in flight or queued', async () => {
    const writes = holdableWrites();
    const journal = await AuditJournal.create(newRoot(), logger, writes.write);
    await journal.append({ n: 0 });
    expect(journal.appendedThrough).toBe(1);
    const held = writes.hold();
    const told = new Map<number, number>();
    const appends: Promise<void>[] = [];
    const append = (n: number, durable: boolean) => {
      if (durable) appends.push(journal.append({ n }));
      else journal.appendCanonicalLater(JSON.stringify({ n }));
      told.set(n, journal.appendedThrough);
    };
    append(1, true);
    await until(() => held.length === 1);
    append(2, false); // queued while the first commit is in flight
    append(3, true);
    append(4, false);
    await until(() => held.length === 2);
    append(5, true); // queued behind two commits in flight
    held[1].release();
    held[0].release();
    await until(() => held.length === 3);
    held[2].release();
    await Promise.all(appends);
    const parsed = parseSegment(readFileSync(segmentOf(journal.dir)));
    const seqOf = new Map(parsed.records.map((r) => [(JSON.parse(r.event) as { n: number }).n, r.seq]));
    for (const [n, seq] of told) expect([n, seq]).toEqual([n, seqOf.get(n)]);
    expect(journal.appendedThrough).toBe(6);
  });

  it('a result written alone does not hold back the commands that arrive during its write', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const writes = holdableWrites();
      const journal = await AuditJournal.create(newRoot(), logger, writes.write);
      await journal.append({ n: 0 });
      const held = writes.hold();
      // A result nobody waits on goes alone after its delay, and its write is slow.
      void journal.append({ type: 'command.result', n: 1 }, false);
      await vi.advanceTimersByTimeAsync(200);
      expect(held).toHaveLength(1);
      // Commands arriving meanwhile share one commit of their own, started at once.
      const commands = [2, 3, 4].map((n) => journal.append({ type: 'command', n }));
      vi.useRealTimers();
      await until(() => held.length === 2);
      expect(held[1].text.split('\n').filter(Boolean)).toHaveLength(3);
      held[1].release();
      held[0].release();
      await Promise.all(commands);
      expect(journal.stats).toEqual({ writes: 3, records: 5 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('a failed commit is undone with the commit in flight after it, and the chain goes on from before them', async () => {
    const writes = holdableWrites();
    const journal = await AuditJournal.create(newRoot(), logger, writes.write);
    await journal.append({ n: 1 });
    const held = writes.hold();
    const failed = journal.append({ n: 2 });
    await until(() => held.length === 1);
    const chained = journal.append({ n: 3 });
    await until(() => held.length === 2);
    // The later commit reaches the disk; the earlier one fails: both are refused, neither is kept.
    held[1].release();
    await tick();
    held[0].fail(new Error('EIO: i/o error'));
    await expect(failed).rejects.toThrow(/could not be written/);
    await expect(chained).rejects.toThrow(/could not be written/);
    expect(journal.unacknowledged().map((r) => r.seq)).toEqual([1]);
    writes.passThrough();
    await journal.append({ n: 4 });
    const parsed = parseSegment(readFileSync(segmentOf(journal.dir)));
    expect(parsed.tornBytes).toBe(0);
    expect(parsed.records.map((r) => JSON.parse(r.event) as unknown)).toEqual([{ n: 1 }, { n: 4 }]);
    const result = verifyChain(
      parsed.records.map((r) => ({
        chain: journal.chain,
        seq: r.seq,
        prevHash: r.prevHash,
        hash: r.hash,
        event: JSON.parse(r.event) as unknown,
      })),
    );
    expect(result.ok).toBe(true);
    expect(journal.unacknowledged().map((r) => r.seq)).toEqual([1, 2]);
  });

  it('forgets what the gateway acknowledged, and deletes itself on close once all of it is', async () => {
    const root = newRoot();
    const journal = await AuditJournal.create(root, logger);
    await journal.append({ n: 1 });
    await journal.append({ n: 2 });
    await journal.acknowledge(1);
    expect(journal.unacknowledged().map((r) => r.seq)).toEqual([2]);
    expect(journal.drained).toBe(false);
    await journal.acknowledge(2);
    expect(journal.drained).toBe(true);
    await journal.close();
    expect(readdirSync(root)).toEqual([]);
  });

  it('a journal left by a killed process is read back whole, its torn tail truncated, and shipped first', async () => {
    const root = newRoot();
    const first = await AuditJournal.create(root, logger);
    for (let i = 1; i <= 3; i++) await first.append({ n: i });
    // The process "dies": its lock names a pid that is gone, and half a record is on disk (written
    // where the next record goes, before the zeros written ahead).
    const segment = segmentOf(first.dir);
    const whole = parseSegment(readFileSync(segment)).validBytes;
    const fd = openSync(segment, 'r+');
    writeSync(fd, '4 00ab', whole);
    closeSync(fd);
    appendFileSync(join(first.dir, 'lock'), '9'.repeat(7));
    const leftovers = await LeftoverJournal.collect(root, logger);
    expect(leftovers.map((l) => l.chain)).toEqual([first.chain]);
    expect(leftovers[0].unacknowledged().map((r) => JSON.parse(r.event) as unknown)).toEqual([
      { n: 1 },
      { n: 2 },
      { n: 3 },
    ]);
    expect(statSync(segment).size).toBe(whole);
    await leftovers[0].acknowledge(3);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a journal left by a killed process keeps the age of its events: a restart does not reset the lag bound', async () => {
    const root = newRoot();
    const first = await AuditJournal.create(root, logger);
    // Commands journaled an hour ago, while the gateway was away; then the process died.
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
    for (let i = 1; i <= 2; i++) await first.append({ type: 'command', n: i, time: anHourAgo });
    appendFileSync(join(first.dir, 'lock'), '9'.repeat(7));
    const shipper = new JournalShipper(
      {} as AgentTunnelWireClient,
      'token',
      { maxAgeMs: 30_000, maxEvents: 100_000 },
      logger,
    );
    for (const leftover of await LeftoverJournal.collect(root, logger)) shipper.add(leftover);
    // The next agent process refuses commands at once: the backlog is an hour old, not new.
    expect(shipper.refusal()).toMatch(
      /holds 2 event\(s\) the gateway has not acknowledged, the oldest for 36\d\d\.\d s/,
    );
  });

  it('grows its segment in zero-filled steps, so most group commits overwrite space the file has', async () => {
    const root = newRoot();
    const journal = await AuditJournal.create(root, logger);
    await journal.append({ n: 1 });
    const segment = segmentOf(journal.dir);
    const grown = statSync(segment).size;
    expect(grown).toBe(64 * 1024);
    for (let i = 2; i <= 20; i++) await journal.append({ n: i });
    expect(statSync(segment).size).toBe(grown);
    const parsed = parseSegment(readFileSync(segment));
    expect(parsed.records.map((r) => JSON.parse(r.event) as unknown)).toEqual(
      Array.from({ length: 20 }, (_, i) => ({ n: i + 1 })),
    );
    expect(parsed.tornBytes).toBe(0);
    expect(parsed.validBytes + parsed.zeroBytes).toBe(grown);
    // Read back by a later process: the records, nothing torn, the zeros left alone.
    appendFileSync(join(journal.dir, 'lock'), '9'.repeat(7));
    const [leftover] = await LeftoverJournal.collect(root, logger);
    expect(leftover.unacknowledged()).toHaveLength(20);
    expect(statSync(segment).size).toBe(grown);
  });

  it('does not take a journal whose process is alive', async () => {
    const root = newRoot();
    const live = await AuditJournal.create(root, logger);
    await live.append({ n: 1 });
    // Held by another live process (this test's parent): not a leftover.
    writeFileSync(join(live.dir, 'lock'), String(process.ppid));
    expect(await LeftoverJournal.collect(root, logger)).toEqual([]);
    await live.close();
  });
});
