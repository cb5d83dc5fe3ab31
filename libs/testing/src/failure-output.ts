import { afterEach } from 'vitest';
import type { CliProcess } from './cli-process';

/** How much of each process's output a failed test prints (its last characters). */
const TAIL_CHARS = 12_000;

/**
 * When a test of the calling suite fails, prints the last output of the Tollgate processes it
 * drives (gateway, agent, connect): a failure that shows only on a loaded CI machine then says
 * which process ended what, and why.
 */
export function printOutputOnFailure(processes: () => readonly CliProcess[]): void {
  afterEach(({ task }) => {
    if (task.result?.state !== 'fail') return;
    for (const process of processes()) {
      const args = process.child.spawnargs.slice(2, 4).join(' ');
      console.error(`----- output of \`tollgate ${args}\` (pid ${process.child.pid}), last part -----`);
      console.error(process.output().slice(-TAIL_CHARS));
    }
  });
}
