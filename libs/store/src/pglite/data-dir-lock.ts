import { randomUUID } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
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

const MAX_ATTEMPTS = 5;

/**
 * Takes `<dataDir>/tollgate.lock` exclusively. PGlite has no protection of its own and two
 * processes on one directory silently lose rows, so a second opener must be refused.
 */
export function acquireDataDirLock(dataDir: string, options: AcquireDataDirLockOptions): DataDirLock {
  const file = join(dataDir, LOCK_FILE_NAME);
  const holder = currentHolder(options.command);
  const content = `${JSON.stringify(holder)}\n`;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (tryCreate(file, content)) return lockHandle(file, holder);
    const existing = readIfExists(file);
    if (existing === undefined) continue; // released between our attempt and our read
    const other = parseLockHolder(existing);
    if (other && isHolderAlive(other)) throw new DataDirLockedError(dataDir, other, isOnThisHost(other));
    if (moveAsideIfUnchanged(file, existing)) {
      options.onTakeover?.('taking over the data directory lock of a process that is gone', {
        dataDir,
        previous: other ?? { unreadable: existing.slice(0, 200) },
      });
    }
  }
  throw new Error(`could not lock data directory ${dataDir}: other processes kept taking it; try again`);
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

/**
 * Renames the stale lock aside rather than deleting it: if another opener replaced it after we
 * read it, the rename caught their live lock, and we can see that and put it back.
 */
function moveAsideIfUnchanged(file: string, judgedStale: string): boolean {
  const aside = `${file}.stale.${process.pid}.${randomUUID()}`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false; // someone else moved it
    throw error;
  }
  try {
    if (readFileSync(aside, 'utf8') === judgedStale) return true;
    linkSync(aside, file); // a live lock: restore it (EEXIST would mean a third opener; let it throw)
    return false;
  } finally {
    unlinkSync(aside);
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
