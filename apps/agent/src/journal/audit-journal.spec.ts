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
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '@tollgate/audit';
import { AuditJournal, LeftoverJournal } from './audit-journal';
import { parseSegment } from './journal-segment';

const logger = pino({ level: 'silent' });
const roots: string[] = [];
const newRoot = () => {
  const root = mkdtempSync(join(tmpdir(), 'tollgate-journal-'));
  roots.push(root);
  return root;
};
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

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
