import { constants } from 'node:os';
import type { Duplex, Writable } from 'node:stream';
import { connectEngine } from '../front/ssh-front';

/** How a command run by runSshExec ended at the target. */
export type SshExecOutcome =
  | { readonly kind: 'exit'; readonly code: number }
  /** The signal's name without `SIG` (`TERM`, `KILL`), as SSH sends it. */
  | { readonly kind: 'signal'; readonly signal: string }
  /** The channel closed without an exit status (the session ended: killed, revoked, lost). */
  | { readonly kind: 'lost' };

/**
 * `tollgate exec` on an SSH connection: opens a channel at the agent's engine over the session's
 * stream (the channel multiplexer, as `tollgate connect` does), asks it to exec `command` with no
 * PTY and no input (like `ssh -n`), and copies the command's stdout and stderr to `stdout` and `stderr` with backpressure. A command
 * the policy refuses comes back as its message on stderr and exit status 1 (the engine's refusal).
 */
export function runSshExec(
  stream: Duplex,
  command: string,
  output: { readonly stdout: Writable; readonly stderr: Writable },
  readyTimeoutMs = 30_000,
): Promise<SshExecOutcome> {
  return connectEngine(stream, readyTimeoutMs).then(
    (client) =>
      new Promise<SshExecOutcome>((resolve, reject) => {
        let outcome: SshExecOutcome = { kind: 'lost' };
        client.once('close', () => resolve(outcome));
        client.once('error', (error: Error) => {
          client.end();
          reject(error);
        });
        client.exec(command, (error, channel) => {
          if (error) {
            client.end();
            return reject(new Error(`the exec request was refused: ${error.message}`));
          }
          channel.end();
          channel.pipe(output.stdout, { end: false });
          channel.stderr.pipe(output.stderr, { end: false });
          // (code) for an exit status; (null, 'SIGTERM', ...) for an exit signal.
          channel.once('exit', (...args: unknown[]) => {
            const [code, signal] = args;
            outcome =
              typeof code === 'number'
                ? { kind: 'exit', code }
                : typeof signal === 'string'
                  ? { kind: 'signal', signal: signal.replace(/^SIG/, '') }
                  : { kind: 'lost' };
          });
          channel.once('close', () => client.end());
        });
      }),
  );
}

/** The exit status a shell gives a command that ended this way: its own, or 128 + the signal's number. */
export function execExitStatus(outcome: SshExecOutcome): number {
  switch (outcome.kind) {
    case 'exit':
      return outcome.code;
    case 'signal': {
      const number = (constants.signals as Record<string, number | undefined>)[`SIG${outcome.signal}`];
      return 128 + (number ?? 0);
    }
    case 'lost':
      return 255;
  }
}
