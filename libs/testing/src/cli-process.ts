import { spawn, type ChildProcess } from 'node:child_process';
import { TEST_BOOTSTRAP_ADMIN_SECRET } from './gateway-tokens';
import { cliBin } from './repo-paths';

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** What was written to stdout alone so far (what a shell redirect would keep). */
  stdout(): string;
  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /**
   * Resolves with the exit code (or the signal name) once the process has ended; rejects with the
   * output so far if it has not ended within `timeoutMs` (default 45 s, under the tests' 60 s).
   */
  exited(timeoutMs?: number): Promise<number | string>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * Runs the real `tollgate` CLI as a child process: the repository's build, or `bin` (an installed
 * `tollgate`), with `env` over this process's environment (undefined removes a variable).
 */
export function spawnCli(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  bin: string = cliBin(),
): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    for (const listener of listeners) listener();
  };
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    onData(chunk);
  });
  child.stderr?.on('data', onData);
  const exit = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const listener of listeners) listener();
      resolve(code ?? signal ?? -1);
    });
  });
  let ended = false;
  void exit.then(() => (ended = true));

  return {
    child,
    output: () => output,
    stdout: () => stdout,
    exited(timeoutMs = 45_000) {
      if (ended) return exit;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`tollgate still running after ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        void exit.then((code) => {
          clearTimeout(timer);
          resolve(code);
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (!ended) child.kill(signal);
      return exit;
    },
    waitFor(pattern, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = output.match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(
              new Error(
                `tollgate exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${output}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${pattern}:\n${output}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * Starts `tollgate gateway` on free ports and resolves once it listens, with its HTTP URL. The
 * bootstrap admin service account is enabled (`bootstrapAdminToken(httpUrl)` gets its token).
 */
export async function spawnGateway(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<{ cli: CliProcess; httpUrl: string }> {
  const cli = spawnCli(['gateway', '--http-port', '0', '--grpc-port', '0', '--log-format', 'json', ...args], {
    TOLLGATE_BOOTSTRAP_ADMIN_SECRET: TEST_BOOTSTRAP_ADMIN_SECRET,
    ...env,
  });
  const match = await cli.waitFor(/"httpUrl":"(http:\/\/[^"]+)"/);
  return { cli, httpUrl: match[1] };
}
