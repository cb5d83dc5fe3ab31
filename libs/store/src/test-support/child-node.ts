import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const repoRoot = resolve(__dirname, '..', '..', '..', '..');

/**
 * Builds libs/store so a child process can require the compiled package, as an app would.
 * Test files run in parallel workers; a directory lock keeps two builds from writing dist at once.
 */
export function buildStoreDist(): string {
  const lockDir = join(repoRoot, 'libs', 'store', '.dist-build.lock');
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || Date.now() > deadline) throw error;
      // Left by a test run that was killed mid-build.
      const since = statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - since > 60_000) rmSync(lockDir, { recursive: true, force: true });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    execFileSync(
      process.execPath,
      [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'libs/store'],
      {
        cwd: repoRoot,
        stdio: 'pipe',
      },
    );
  } finally {
    rmdirSync(lockDir);
  }
  return join(repoRoot, 'libs', 'store', 'dist', 'index.js');
}

export interface NodeRun {
  readonly pid: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node -e script ...args` to completion. */
export function runNode(script: string, args: readonly string[] = []): Promise<NodeRun> {
  const child = spawn(process.execPath, ['-e', script, ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolvePromise, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolvePromise({ pid: child.pid ?? -1, code, stdout, stderr }));
  });
}

/** The pid of a process that has certainly exited. */
export async function deadPid(): Promise<number> {
  const run = await runNode('');
  return run.pid;
}
