import { spawn } from 'node:child_process';

export interface SshClientRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options every OpenSSH client run in tests uses: no known_hosts, no config, no agent, batch mode. */
export function sshClientOptions(port: number, flag: '-p' | '-P' = '-p'): string[] {
  return [
    flag,
    String(port),
    '-F',
    '/dev/null',
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    '-o',
    'IdentityAgent=none',
  ];
}

/** Runs an OpenSSH client program (ssh, scp, sftp) to completion without blocking the event loop. */
export function runSshClient(
  program: string,
  args: readonly string[],
  input?: string,
  env?: NodeJS.ProcessEnv,
): Promise<SshClientRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
