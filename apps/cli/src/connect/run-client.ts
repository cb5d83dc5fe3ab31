import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { ClientCommand } from './client-command';
import { clientArgs, shellLine } from './client-command';
import type { LocalListener } from './local-listener';

/**
 * `tollgate connect --exec`: runs the client in the foreground (stdio inherited), then closes the
 * listener and exits with the client's status (128 + the signal's number when a signal ended it).
 * Ctrl-C belongs to the client while it runs (psql cancels the running query with it).
 */
export async function runClient(
  client: ClientCommand,
  extraArgs: readonly string[],
  listener: LocalListener,
): Promise<never> {
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  const child = spawn(client.program, clientArgs(client, extraArgs), { stdio: 'inherit' });
  const forward = () => child.kill('SIGTERM');
  process.once('SIGTERM', forward);
  const status = await new Promise<number>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'ENOENT'
            ? `${client.program} is not installed (or not on the PATH); the command was: ${shellLine(client, extraArgs)}`
            : `${shellLine(client, extraArgs)}: ${error.message}`,
        ),
      ),
    );
    child.once('exit', (code, signal) =>
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    );
  }).finally(() => {
    process.off('SIGINT', ignore);
    process.off('SIGTERM', forward);
  });
  await listener.close();
  process.exit(status);
}
