import { promises as fsp } from 'node:fs';
import { join } from 'node:path';

export interface JournalLock {
  release(): Promise<void>;
}

/**
 * One process per journal directory: `lock` holds the owner's pid, created with O_EXCL. A lock
 * whose pid is gone (or is this very pid from an earlier life, as after a container restart where
 * pids repeat) is taken over.
 */
export async function acquireJournalLock(dir: string): Promise<JournalLock> {
  const file = join(dir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fsp.writeFile(file, String(process.pid), { flag: 'wx', mode: 0o600 });
      return { release: () => fsp.rm(file, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number((await fsp.readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new Error(`journal ${dir} is held by process ${pid}`);
      }
      await fsp.rm(file, { force: true });
    }
  }
  throw new Error(`journal ${dir}: could not take its lock`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
