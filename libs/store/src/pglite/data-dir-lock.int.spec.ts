import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError } from '../errors/data-dir-locked.error';
import { buildStoreDist, deadPid, runNode } from '../test-support/child-node';
import { makeTempDir, removeDir } from '../test-support/temp-dir';
import { acquireDataDirLock, LOCK_FILE_NAME, type DataDirLock } from './data-dir-lock';

describe('data directory lock', () => {
  let dir: string;
  let lockFile: string;
  const held: DataDirLock[] = [];
  const acquire = (onTakeover?: (msg: string, fields: Record<string, unknown>) => void) => {
    const lock = acquireDataDirLock(dir, { command: 'tollgate start', onTakeover });
    held.push(lock);
    return lock;
  };
  const writeLock = (content: string) => writeFileSync(lockFile, content);
  const readLock = () => JSON.parse(readFileSync(lockFile, 'utf8')) as Record<string, unknown>;

  beforeEach(() => {
    dir = makeTempDir('lock');
    lockFile = join(dir, LOCK_FILE_NAME);
  });

  afterEach(() => {
    held.splice(0).forEach((lock) => lock.release());
    removeDir(dir);
  });

  it('writes who holds the directory and removes the file on release', () => {
    const lock = acquire();

    expect(readLock()).toEqual({
      pid: process.pid,
      hostname: hostname(),
      startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown,
      command: 'tollgate start',
    });
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]); // no temp files left behind

    lock.release();
    lock.release();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('refuses a second opener while the holder lives, naming it', () => {
    acquire();

    expect(() => acquire()).toThrow(DataDirLockedError);
    expect(() => acquire()).toThrow(
      `data directory ${dir} is in use by pid ${process.pid} (started ${String(readLock().startedAt)}, "tollgate start"); ` +
        'stop that process or use another --data-dir',
    );
    expect(readLock().pid).toBe(process.pid);
  });

  it('takes over a lock left by a process that is gone, and says so', async () => {
    const pid = await deadPid();
    writeLock(
      JSON.stringify({
        pid,
        hostname: hostname(),
        startedAt: '2026-01-01T00:00:00.000Z',
        command: 'tollgate start',
      }),
    );
    const warnings: Record<string, unknown>[] = [];

    acquire((_msg, fields) => warnings.push(fields));

    expect(readLock().pid).toBe(process.pid);
    expect(warnings).toEqual([
      expect.objectContaining({ previous: expect.objectContaining({ pid }) as unknown }),
    ]);
    expect(readdirSync(dir)).toEqual([LOCK_FILE_NAME]);
  });

  it.each([
    ['empty', ''],
    ['truncated', '{"pid": 12'],
    ['not a lock', '[1,2,3]'],
  ])('takes over a damaged (%s) lock file', (_label, content) => {
    writeLock(content);

    acquire();

    expect(readLock().pid).toBe(process.pid);
  });

  it('refuses a lock held on another host, since its pid cannot be checked', () => {
    writeLock(
      JSON.stringify({
        pid: 1,
        hostname: 'elsewhere',
        startedAt: '2026-01-01T00:00:00.000Z',
        command: 'tollgate start',
      }),
    );

    expect(() => acquire()).toThrow(/in use by pid 1 on host elsewhere .*delete .*tollgate\.lock/);
  });

  it('does not remove a lock file that is no longer ours', () => {
    const lock = acquire();
    const theirs = JSON.stringify({
      pid: 1,
      hostname: hostname(),
      startedAt: '2026-01-01T00:00:00.000Z',
      command: 'x',
    });
    writeLock(theirs);

    lock.release();

    expect(readFileSync(lockFile, 'utf8')).toBe(theirs);
  });

  describe('across processes', () => {
    let distIndex: string;
    beforeAll(() => {
      distIndex = buildStoreDist();
    });

    it('is released when the holding process exits without releasing it', async () => {
      const lockModule = join(distIndex, '..', 'pglite', 'data-dir-lock.js');
      const run = await runNode(
        `const { acquireDataDirLock } = require(process.argv[1]);
         acquireDataDirLock(process.argv[2], { command: 'child' });
         console.log(require('node:fs').readFileSync(process.argv[2] + '/tollgate.lock', 'utf8'));`,
        [lockModule, dir],
      );

      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ pid: run.pid, command: 'child' });
      expect(existsSync(lockFile)).toBe(false);
    });

    it('a crashed holder leaves a lock the next opener takes over', async () => {
      const lockModule = join(distIndex, '..', 'pglite', 'data-dir-lock.js');
      const run = await runNode(
        `require(process.argv[1]).acquireDataDirLock(process.argv[2], { command: 'child' });
         process.kill(process.pid, 'SIGKILL');`,
        [lockModule, dir],
      );
      expect(run.code).toBeNull();
      expect(readLock().pid).toBe(run.pid);

      acquire();

      expect(readLock().pid).toBe(process.pid);
    });

    it('lets exactly one of several racing processes take over a stale lock', async () => {
      writeLock(
        JSON.stringify({ pid: await deadPid(), hostname: hostname(), startedAt: 'x', command: 'gone' }),
      );
      const lockModule = join(distIndex, '..', 'pglite', 'data-dir-lock.js');
      const racer = `
        const [, mod, dir, startAt] = process.argv;
        while (Date.now() < Number(startAt)) {}
        try {
          require(mod).acquireDataDirLock(dir, { command: 'racer' });
          console.log('acquired');
          // Hold until every other racer has tried (the test says so), or give up after 20 s: on a
          // loaded machine a racer can start seconds late, and a holder gone by then frees the lock.
          const release = require('node:path').join(dir, 'release');
          const until = Date.now() + 20000;
          const wait = setInterval(() => {
            if (require('node:fs').existsSync(release) || Date.now() > until) clearInterval(wait);
          }, 25);
        } catch (error) {
          console.log(error.name);
        }`;
      const startAt = String(Date.now() + 1000);

      let losers = 0;
      const runs = await Promise.all(
        Array.from({ length: 6 }, () =>
          runNode(racer, [lockModule, dir, startAt]).then((run) => {
            if (run.stdout.trim() !== 'acquired' && ++losers === 5) writeFileSync(join(dir, 'release'), '');
            return run;
          }),
        ),
      );

      const outcomes = runs.map((run) => run.stdout.trim()).sort();
      expect(outcomes).toEqual([
        'DataDirLockedError',
        'DataDirLockedError',
        'DataDirLockedError',
        'DataDirLockedError',
        'DataDirLockedError',
        'acquired',
      ]);
    });
  });
});
