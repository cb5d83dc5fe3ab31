import { randomUUID } from 'node:crypto';
import { constants as fsConstants, fdatasync, promises as fsp, write as fsWrite } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, GENESIS_HASH, linkHashOfCanonical } from '@tollgate/audit';
import type { Logger } from 'pino';
import { formatRecord, parseSegment, type JournalRecord } from './journal-segment';
import { acquireJournalLock, type JournalLock } from './journal-lock';

/** A segment is closed (and can be dropped once acknowledged) when it grows past this. */
const SEGMENT_BYTES = 4 * 1024 * 1024;
/**
 * Segments grow in zero-filled steps of this size, written ahead of the records. An fdatasync after
 * an append that grows the file must also commit the file system's metadata (on ext4 a jbd2 journal
 * commit, shared with every other writer on the disk: measured here 2.2 ms p50 under load against
 * 0.4–0.6 ms for the same write into zero-filled space), so most group commits overwrite space the
 * file already has, as PostgreSQL's preallocated WAL segments do. Readers stop at the zeros.
 */
const GROW_BYTES = 64 * 1024;
/**
 * Segments are opened with O_DSYNC where the platform has it: each write returns once its data
 * (and what is needed to read it back) is on disk, so a group commit is one call in the thread pool
 * instead of a write and an fdatasync.
 */
const O_DSYNC: number | undefined = (fsConstants as { O_DSYNC?: number }).O_DSYNC;
/**
 * Results nobody waits on ride along with the next durable write, or go alone after this: long
 * enough that a client's next statement usually comes first (one fdatasync per statement, not two).
 */
const DEFER_MS = 100;
const META_FILE = 'journal.json';
/**
 * Group commits in flight at once. With one, an append that arrives while a commit is being written
 * waits for it to finish and then for its own: with several clients their statements fell into
 * lockstep, each waiting two commits. With two, it is written at once, beside the one in flight.
 */
const MAX_WRITES_IN_FLIGHT = 2;
/** A record's bytes besides its event and sequence number: three spaces, two hashes, a newline. */
const RECORD_OVERHEAD = 3 + 64 + 64 + 1;

/** The journal could not make an event durable: the command it guards must not run. */
export class JournalWriteError extends Error {
  constructor(cause: unknown) {
    super(
      `the agent's audit journal could not be written (${cause instanceof Error ? cause.message : String(cause)}), so the command was not run`,
    );
    this.name = 'JournalWriteError';
  }
}

/** What the shipper needs of a journal: records in order, and where the gateway has them up to. */
export interface ShippableJournal {
  readonly chain: string;
  /** Durable records the gateway has not acknowledged, oldest first. */
  unacknowledged(): readonly StoredRecord[];
  acknowledge(seq: number): Promise<void>;
  /** Nothing left to ship. */
  readonly drained: boolean;
}

export interface StoredRecord extends JournalRecord {
  /** When it became durable here (ms, monotonic clock), for the lag bound. */
  readonly at: number;
}

interface Segment {
  readonly file: string;
  readonly firstSeq: number;
  lastSeq: number;
  /** Bytes of records, those of commits in flight included (where the next commit goes). */
  size: number;
  /** Bytes in the file: the records, then zeros written ahead (GROW_BYTES). */
  allocated: number;
}

interface Waiting {
  readonly event: string;
  /** UTF-8 bytes of `event`. */
  readonly bytes: number;
  readonly durable: boolean;
  /** Absent for an append nobody waits on. */
  readonly resolve: (() => void) | undefined;
  readonly reject: ((error: unknown) => void) | undefined;
}

/** A record as kept until the gateway acknowledges it; `at` is set when it becomes durable. */
type Kept = { -readonly [K in keyof StoredRecord]: StoredRecord[K] };

/** One group commit: its appends, its records, and where its bytes go. */
interface Batch {
  readonly waiters: readonly Waiting[];
  readonly records: readonly Kept[];
  readonly segment: Segment;
  readonly fd: fsp.FileHandle;
  /** Where its bytes begin in the segment. */
  readonly offset: number;
  /** The chain and the segment's allocation before it (restored when it fails). */
  readonly before: { readonly seq: number; readonly head: string; readonly allocated: number };
  /** It grows the file (writes zeros ahead of its records). */
  readonly grows: boolean;
  state: 'writing' | 'written' | 'failed';
  error?: unknown;
}

/**
 * The agent's audit journal (edge audit mode): an append-only, hash-chained file per agent process
 * in the data directory. `append` hashes the event onto the chain and resolves once it is written
 * and fdatasync'd; appends made together share one write and its one sync (group commit), and an
 * append made while a commit is in flight starts the next one beside it (two at once, answered in
 * order) instead of waiting for the first to finish, so concurrent sessions neither pay a sync
 * each nor fall into lockstep behind each other's commits. Records are kept in
 * memory until the gateway acknowledges them (the shipper sends them on a stream of their own),
 * then whole segments are deleted. A write that fails is undone (the file is truncated back and the
 * chain head restored) and its appends are rejected, so the journal never holds an event whose
 * command was refused.
 */
export class AuditJournal implements ShippableJournal {
  private seq = 0;
  private head = GENESIS_HASH;
  private readonly segments: Segment[] = [];
  private fd: fsp.FileHandle | undefined;
  private queue: Waiting[] = [];
  /** Group commits being written, oldest first. */
  private readonly inFlight: Batch[] = [];
  private undoing = false;
  private rotating = false;
  private deferTimer: NodeJS.Timeout | undefined;
  private besideTimer: NodeJS.Immediate | undefined;
  private readonly pending: StoredRecord[] = [];
  private acked = 0;
  private closed = false;
  /** Called after each durable write (the shipper sends what is new). */
  onDurable: () => void = () => undefined;
  readonly stats = { writes: 0, records: 0 };

  private constructor(
    readonly chain: string,
    readonly dir: string,
    private readonly lock: JournalLock,
    private readonly logger: Logger,
    private readonly writeBytes: SegmentWrite,
  ) {}

  /**
   * Creates this process's journal under `root` (a directory of its own, locked). `write` is how
   * commits reach the segment file (node:fs's `write`; a test can hold commits in flight with it).
   */
  static async create(root: string, logger: Logger, write: SegmentWrite = fsWrite): Promise<AuditJournal> {
    const chain = randomUUID();
    const dir = join(root, chain);
    await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = await acquireJournalLock(dir);
    await fsp.writeFile(join(dir, META_FILE), JSON.stringify({ chain, createdAt: new Date().toISOString() }));
    const journal = new AuditJournal(chain, dir, lock, logger, write);
    await journal.openSegment(1);
    await syncDir(root);
    return journal;
  }

  get drained(): boolean {
    return this.pending.length === 0 && this.queue.length === 0 && this.inFlight.length === 0;
  }

  /** The seq the last event appended so far gets: chained already, or queued for the next commit. */
  get appendedThrough(): number {
    return this.seq + this.queue.length;
  }

  /** Events durable here and not yet acknowledged by the gateway. */
  get backlog(): { readonly events: number; readonly oldestAt: number | undefined } {
    return { events: this.pending.length, oldestAt: this.pending[0]?.at };
  }

  unacknowledged(): readonly StoredRecord[] {
    return this.pending;
  }

  /**
   * Appends one event. `durable: true` resolves once it is fdatasync'd (the caller may then run the
   * command); `durable: false` (a result, after the fact) rides along with the next write.
   */
  append(event: Record<string, unknown>, durable = true): Promise<void> {
    let text: string;
    try {
      text = canonicalJson(event);
    } catch (error) {
      return Promise.reject(new JournalWriteError(error));
    }
    return durable ? this.appendCanonical(text) : this.appendWith(text, false);
  }

  /**
   * Appends an event given as canonical JSON text (`canonicalJson`'s output: what the chain hashes
   * and the gateway verifies) and resolves once it is durable.
   */
  appendCanonical(text: string): Promise<void> {
    return this.appendWith(text, true);
  }

  /** Appends canonical event text that rides along with the next durable write; nobody waits on it. */
  appendCanonicalLater(text: string): void {
    if (this.closed) return;
    this.queue.push({
      event: text,
      bytes: Buffer.byteLength(text, 'utf8'),
      durable: false,
      resolve: undefined,
      reject: undefined,
    });
    this.flush();
  }

  private appendWith(text: string, durable: boolean): Promise<void> {
    if (this.closed) return Promise.reject(new JournalWriteError(new Error('the journal is closed')));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ event: text, bytes: Buffer.byteLength(text, 'utf8'), durable, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    if (this.queue.length === 0) return;
    if (!this.queue.some((w) => w.durable)) {
      // Results alone wait for company; while a write is in flight its completion comes back here.
      if (this.inFlight.length === 0) {
        this.deferTimer ??= setTimeout(() => {
          this.deferTimer = undefined;
          this.write();
        }, DEFER_MS);
      }
      return;
    }
    if (this.inFlight.length === 0) {
      this.write();
      return;
    }
    // Beside a commit in flight: once this turn of the event loop is over, so that the appends made
    // in it (several sessions' statements from one read of the tunnel) share the commit.
    this.besideTimer ??= setImmediate(() => {
      this.besideTimer = undefined;
      this.write();
    });
  }

  /**
   * Starts a group commit of everything queued, when one may start: up to MAX_WRITES_IN_FLIGHT run
   * at once, each at its own offset, so an append that arrives while a commit is in flight is
   * written at once instead of waiting for that commit to finish first. Commits are answered in
   * order (see settle). A commit that grows the file writes zeros ahead of its records, so it runs
   * alone; so does anything while a failed commit is being undone or the segment is being rotated.
   */
  private write(): void {
    if (this.queue.length === 0 || !this.fd || this.undoing || this.rotating) return;
    const inFlight = this.inFlight;
    if (inFlight.length >= MAX_WRITES_IN_FLIGHT) return;
    if (inFlight.some((b) => b.state === 'failed' || b.grows)) return;
    const segment = this.segments.at(-1)!;
    // A full segment is rotated once nothing is in flight (settle).
    if (inFlight.length > 0 && segment.size >= SEGMENT_BYTES) return;
    const offset = segment.size;
    let length = 0;
    let seq = this.seq;
    for (const waiting of this.queue) length += waiting.bytes + String(++seq).length + RECORD_OVERHEAD;
    const end = offset + length;
    const grows = end > segment.allocated;
    if (grows && inFlight.length > 0) return;
    if (this.deferTimer) {
      clearTimeout(this.deferTimer);
      this.deferTimer = undefined;
    }
    const waiters = this.queue;
    this.queue = [];
    const before = { seq: this.seq, head: this.head, allocated: segment.allocated };
    const records: Kept[] = [];
    let text = '';
    for (const waiting of waiters) {
      const seq = this.seq + 1;
      const hash = linkHashOfCanonical(this.head, this.chain, seq, waiting.event);
      const record: Kept = { seq, prevHash: this.head, hash, event: waiting.event, at: 0 };
      records.push(record);
      text += formatRecord(record);
      this.seq = seq;
      this.head = hash;
    }
    // Past the zeros written ahead: grow the file by the next step (zeros) in the same write.
    const allocated = grows ? Math.ceil(end / GROW_BYTES) * GROW_BYTES : segment.allocated;
    let bytes: Buffer;
    if (grows) {
      bytes = Buffer.alloc(allocated - offset);
      bytes.write(text, 0, 'utf8');
    } else {
      bytes = Buffer.from(text, 'utf8');
    }
    segment.size = end;
    segment.allocated = allocated;
    const fd = this.fd;
    const batch: Batch = { waiters, records, segment, fd, offset, before, grows, state: 'writing' };
    inFlight.push(batch);
    // Callback I/O on the descriptor: one thread-pool request per write, no promise or FileHandle
    // bookkeeping per commit (the handle stays open while a commit is in flight: see close()).
    writeAll(this.writeBytes, fd.fd, bytes, offset, (error) => {
      if (error === null) {
        batch.state = 'written';
      } else {
        batch.state = 'failed';
        batch.error = error;
      }
      void this.settle();
    });
  }

  /**
   * Answers finished commits in order: a commit's records chain on the ones before it, so it is
   * durable (and its commands may run) only once every commit before it is. A failed commit is
   * undone once nothing else is in flight: the file is truncated back to where it began, the chain
   * head restored, and its appends and every later commit's (chained on it) are rejected, so the
   * journal never holds an event whose command was refused.
   */
  private async settle(): Promise<void> {
    let answered = false;
    while (this.inFlight[0]?.state === 'written') {
      const batch = this.inFlight.shift()!;
      batch.segment.lastSeq = batch.records.at(-1)!.seq;
      const at = performance.now();
      for (const record of batch.records) {
        record.at = at;
        this.pending.push(record);
      }
      this.stats.writes += 1;
      this.stats.records += batch.records.length;
      for (const waiting of batch.waiters) waiting.resolve?.();
      answered = true;
    }
    if (this.inFlight.length > 0 && !this.inFlight.some((b) => b.state === 'writing')) {
      await this.undo(this.inFlight.splice(0));
    }
    if (this.inFlight.length === 0 && !this.rotating && this.segments.at(-1)!.size >= SEGMENT_BYTES) {
      this.rotating = true;
      await this.openSegment(this.seq + 1).catch(() => undefined);
      this.rotating = false;
    }
    if (answered) this.onDurable();
    this.flush();
  }

  private async undo(batches: readonly Batch[]): Promise<void> {
    const first = batches[0];
    const error = batches.find((b) => b.state === 'failed')?.error;
    this.undoing = true;
    // Undo: the bytes (whole or torn) go, the chain head goes back, nobody's command runs.
    this.seq = first.before.seq;
    this.head = first.before.head;
    const segment = first.segment;
    segment.size = first.offset;
    segment.allocated = first.before.allocated;
    await first.fd.truncate(first.offset).then(
      () => (segment.allocated = first.offset),
      (undo: unknown) => {
        this.logger.error({ err: undo }, 'audit journal: could not truncate a failed write');
      },
    );
    this.logger.error({ err: error, dir: this.dir }, 'audit journal write failed; commands are refused');
    this.undoing = false;
    for (const batch of batches) {
      for (const waiting of batch.waiters) waiting.reject?.(new JournalWriteError(error));
    }
  }

  /** The gateway holds everything up to `seq`: forget it, and delete segments wholly behind it. */
  async acknowledge(seq: number): Promise<void> {
    if (seq <= this.acked) return;
    this.acked = Math.min(seq, this.seq);
    let drop = 0;
    while (drop < this.pending.length && this.pending[drop].seq <= this.acked) drop++;
    this.pending.splice(0, drop);
    while (this.segments.length > 1 && this.segments[0].lastSeq <= this.acked) {
      const old = this.segments.shift()!;
      await fsp.rm(old.file, { force: true });
    }
  }

  /** Stops taking events; deletes the journal when the gateway holds all of it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight.length > 0 || this.undoing || this.rotating) {
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const waiting of this.queue.splice(0)) {
      waiting.reject?.(new JournalWriteError(new Error('the journal is closed')));
    }
    await this.fd?.close().catch(() => undefined);
    this.fd = undefined;
    if (this.pending.length === 0) {
      await fsp.rm(this.dir, { recursive: true, force: true });
    } else {
      this.logger.warn(
        { dir: this.dir, events: this.pending.length },
        'audit journal closed with events the gateway has not acknowledged; the next start ships them',
      );
      await this.lock.release();
    }
  }

  private async openSegment(firstSeq: number): Promise<void> {
    const file = join(this.dir, segmentName(firstSeq));
    const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | (O_DSYNC ?? 0);
    const fd = await fsp.open(file, flags, 0o600);
    const previous = this.fd;
    this.fd = fd;
    this.segments.push({ file, firstSeq, lastSeq: firstSeq - 1, size: 0, allocated: 0 });
    await syncDir(this.dir);
    await previous?.close();
  }
}

/** How long ago (ms, 0 or more) the event text says it happened; 0 when it does not say. */
function ageOf(event: string, wall: number): number {
  // A command event has one `time` member, at its top (quotes inside its strings are escaped).
  const time = /"time":"([^"]{1,64})"/.exec(event)?.[1];
  const at = time === undefined ? NaN : Date.parse(time);
  return Number.isFinite(at) ? Math.max(0, wall - at) : 0;
}

export function segmentName(firstSeq: number): string {
  return `segment-${String(firstSeq).padStart(16, '0')}.log`;
}

/** Writes all of `bytes` at `position` (and syncs them where O_DSYNC is missing), then calls `done`. */
/** node:fs's `write` at a position, as the journal calls it. */
export type SegmentWrite = (
  fd: number,
  buffer: Buffer,
  offset: number,
  length: number,
  position: number,
  callback: (error: NodeJS.ErrnoException | null, bytesWritten: number) => void,
) => void;

function writeAll(
  write: SegmentWrite,
  fd: number,
  bytes: Buffer,
  position: number,
  done: (error: Error | null) => void,
): void {
  let written = 0;
  const next = (error: Error | null, bytesWritten: number) => {
    if (error) return done(error);
    written += bytesWritten;
    if (written < bytes.length) {
      write(fd, bytes, written, bytes.length - written, position + written, next);
    } else if (O_DSYNC === undefined) {
      fdatasync(fd, (syncError) => done(syncError));
    } else {
      done(null);
    }
  };
  write(fd, bytes, 0, bytes.length, position, next);
}

async function syncDir(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A journal left behind by an earlier process (SIGKILL, crash, a drain that could not finish):
 * its records are read back (a torn tail truncated) and shipped before anything new.
 */
export class LeftoverJournal implements ShippableJournal {
  private pending: StoredRecord[];

  private constructor(
    readonly chain: string,
    readonly dir: string,
    records: readonly JournalRecord[],
    private readonly lock: JournalLock,
  ) {
    // Each record keeps the age its event says it has (its `time`), so the lag bound counts from
    // when the command was journaled, not from this process's start: restarting the agent does not
    // make an old backlog new. A record whose time cannot be read counts from now.
    const now = performance.now();
    const wall = Date.now();
    this.pending = records.map((r) => ({ ...r, at: now - ageOf(r.event, wall) }));
  }

  get drained(): boolean {
    return this.pending.length === 0;
  }

  unacknowledged(): readonly StoredRecord[] {
    return this.pending;
  }

  async acknowledge(seq: number): Promise<void> {
    this.pending = this.pending.filter((r) => r.seq > seq);
    if (this.pending.length === 0) await fsp.rm(this.dir, { recursive: true, force: true });
  }

  async release(): Promise<void> {
    await this.lock.release();
  }

  /** The journals under `root` whose process is gone, oldest first; each is locked for this process. */
  static async collect(root: string, logger: Logger): Promise<LeftoverJournal[]> {
    let names: string[];
    try {
      names = await fsp.readdir(root);
    } catch {
      return [];
    }
    const found: { journal: LeftoverJournal; createdAt: string }[] = [];
    for (const name of names) {
      const dir = join(root, name);
      let meta: { chain?: unknown; createdAt?: unknown };
      try {
        meta = JSON.parse(await fsp.readFile(join(dir, META_FILE), 'utf8')) as typeof meta;
      } catch {
        continue;
      }
      if (typeof meta.chain !== 'string') continue;
      const lock = await acquireJournalLock(dir).catch(() => undefined);
      if (!lock) continue; // a live process holds it
      const records = await readJournalDir(dir, logger);
      found.push({
        journal: new LeftoverJournal(meta.chain, dir, records, lock),
        createdAt: typeof meta.createdAt === 'string' ? meta.createdAt : '',
      });
    }
    return found.sort((a, b) => a.createdAt.localeCompare(b.createdAt)).map((f) => f.journal);
  }
}

/**
 * Reads a journal directory's segments in order. A torn tail is truncated (it was never
 * acknowledged to a command: fdatasync had not returned); bytes after it that look like more than a
 * torn record are kept aside in `<segment>.corrupt` for inspection (a commit that reached the disk
 * before the one in flight ahead of it did, when the process died between them, is such bytes: it
 * was never acknowledged either, as commits are answered in order).
 */
export async function readJournalDir(dir: string, logger: Logger): Promise<JournalRecord[]> {
  const files = (await fsp.readdir(dir)).filter((f) => /^segment-\d{16}\.log$/.test(f)).sort();
  const records: JournalRecord[] = [];
  for (const name of files) {
    const file = join(dir, name);
    const bytes = await fsp.readFile(file);
    const parsed = parseSegment(bytes);
    const previous = records.at(-1);
    const first = parsed.records[0];
    if (previous && first && first.seq !== previous.seq + 1) {
      logger.error(
        { file, expected: previous.seq + 1, found: first.seq },
        'audit journal: segments do not follow',
      );
    }
    records.push(...parsed.records);
    if (parsed.tornBytes > 0) {
      const tail = bytes.subarray(parsed.validBytes, parsed.validBytes + parsed.tornBytes);
      if (tail.includes(0x0a)) {
        await fsp.writeFile(`${file}.corrupt`, tail);
        logger.error(
          { file, bytes: tail.length },
          'audit journal: unreadable records kept aside in .corrupt',
        );
      } else {
        logger.warn({ file, bytes: tail.length }, 'audit journal: torn tail truncated');
      }
      await fsp.truncate(file, parsed.validBytes);
    }
  }
  return records;
}
