import { spawn } from 'node:child_process';

export interface PsqlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs the real psql (`-X -At`: no psqlrc, unaligned tuples only) against 127.0.0.1:`port`, with no
 * password and a connect timeout; `env` adds to the environment (PGOPTIONS, PGDATESTYLE, ...).
 */
export function runPsql(
  port: number,
  args: readonly string[],
  options: { user?: string; database?: string; env?: Record<string, string>; input?: string } = {},
): Promise<PsqlRun> {
  return new Promise((resolve) => {
    const child = spawn(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        options.user ?? 'me',
        '-d',
        options.database ?? 'app',
        '-X',
        '-At',
        ...args,
      ],
      { env: { ...process.env, PGPASSWORD: '', PGCONNECT_TIMEOUT: '20', ...options.env } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
