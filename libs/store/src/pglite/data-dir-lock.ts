import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLockedError } from '../errors/data-dir-locked.error';
import { currentHolder, isHolderAlive, isOnThisHost, parseLockHolder, type LockHolder } from './lock-holder';

export const LOCK_FILE_NAME = 'tollgate.lock';

export interface DataDirLock {
  readonly file: string;
  readonly holder: LockHolder;
  /** Removes the lock file if it is still ours. Idempotent; never throws. */
  release(): void;
}

export interface AcquireDataDirLockOptions {
  /** Shown to whoever is refused, e.g. "tollgate start". */
  readonly command: string;
  /** Told when a lock left by a dead process (or a damaged lock file) is taken over. */
  readonly onTakeover?: (msg: string, fields: Record<string, unknown>) => void;
}

const MAX_ATTEMPTS = 200;
/** How long an opener waits while another one takes over a stale lock. */
const TAKEOVER_WAIT_MS = 10;

/**
 * Takes `<dataDir>/tollgate.lock` exclusively. PGlite has no protection of its own and two
 * processes on one directory silently lose rows, so a second opener must be refused.
 *
 * A lock left by a dead process is removed only by the opener holding `tollgate.lock.takeover`
 * (taken the same exclusive way), and only if it still reads as the lock judged stale: the lock
 * file exists from that read to the removal, and nobody else removes it, so no live lock created
 * meanwhile can be removed in its place. Then every opener races to create the lock again, and
 * exactly one succeeds.
 */
export function acquireDataDirLock(dataDir: string, options: AcquireDataDirLockOptions): DataDirLock {
  const file = join(dataDir, LOCK_FILE_NAME);
  const takeover = `${file}.takeover`;
  const holder = currentHolder(options.command);
  const content = `${JSON.stringify(holder)}\n`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (tryCreate(file, content)) return lockHandle(file, holder);
    const existing = readIfExists(file);
    if (existing === undefined) continue; // released between our attempt and our read
    const other = parseLockHolder(existing);
    if (other && isHolderAlive(other)) throw new DataDirLockedError(dataDir, other, isOnThisHost(other));
    if (!tryCreate(takeover, content)) {
      // Another opener is taking it over; one that died doing so leaves its mark to the next.
      const busy = readIfExists(takeover);
      const taker = busy === undefined ? undefined : parseLockHolder(busy);
      if (busy !== undefined && !(taker && isHolderAlive(taker))) unlinkIfExists(takeover);
      else sleep(TAKEOVER_WAIT_MS);
      continue;
    }
    try {
      if (readIfExists(file) === existing) {
        unlinkIfExists(file);
        options.onTakeover?.('taking over the data directory lock of a process that is gone', {
          dataDir,
          previous: other ?? { unreadable: existing.slice(0, 200) },
        });
      }
    } finally {
      unlinkIfExists(takeover);
    }
  }
  throw new Error(`could not lock data directory ${dataDir}: other processes kept taking it; try again`);
}

/** Blocks this thread for `ms` (the lock is taken synchronously, before anything else runs). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * O_EXCL on a private temp file, then link() into place: link fails if the lock exists, and the
 * lock never appears half-written, so an empty lock file can only be the remains of a crash.
 */
function tryCreate(file: string, content: string): boolean {
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    unlinkSync(temp);
  }
}

function lockHandle(file: string, holder: LockHolder): DataDirLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      const current = readIfExists(file);
      const owner = current === undefined ? undefined : parseLockHolder(current);
      if (owner?.pid === holder.pid && owner.startedAt === holder.startedAt) unlinkIfExists(file);
    } catch {
      // Best effort: a lock file left behind names a dead pid, which the next opener takes over.
    }
  };
  // Last resort for a process that exits without closing the store; a crash is handled by the
  // next opener finding the pid dead.
  process.on('exit', release);
  return { file, holder, release };
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function unlinkIfExists(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
