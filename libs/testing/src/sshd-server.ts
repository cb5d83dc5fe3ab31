import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dir';
import { unusedPort } from './tcp-targets';

/** A private OpenSSH server on loopback with one throwaway user (password and key), for tests. */
export interface SshdServer {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** The server's ed25519 host key fingerprint, as `ssh-keygen -lf` prints it. */
  readonly fingerprint: string;
  readonly user: {
    readonly name: string;
    readonly home: string;
    readonly password: string;
    /** An unencrypted OpenSSH private key that is authorized. */
    readonly privateKey: string;
    /** The same kind of key, encrypted with `passphrase`, also authorized. */
    readonly encryptedKey: string;
    readonly passphrase: string;
  };
  /** A directory for test files (holds client keys and the like); removed on stop. */
  readonly dir: string;
  stop(): void;
}

const SSHD = '/usr/sbin/sshd';

/**
 * Starts sshd (as root, as on the project's machines) with its own config and host key on a free
 * loopback port, and a user made for this run (removed on stop). Password and public key logins
 * work; forwarding is allowed on the server, so that refusals seen by clients are Tollgate's.
 */
export async function startSshd(): Promise<SshdServer> {
  const temp = makeTempDir('tollgate-sshd-');
  const dir = temp.path;
  chmodSync(dir, 0o755);
  const name = `tgssh${process.pid}${Math.floor(Math.random() * 1e6)}`.slice(0, 30);
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const passphrase = `pp-${Math.random().toString(36).slice(2)}`;
  execFileSync('useradd', ['--create-home', '--shell', '/bin/bash', name]);
  execFileSync('chpasswd', { input: `${name}:${password}\n` });
  const home = join('/home', name);
  const key = join(dir, 'user_key');
  const encrypted = join(dir, 'user_key_encrypted');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  // Few KDF rounds: the agent reads this key in JavaScript on every session of the test.
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-a', '2', '-N', passphrase, '-f', encrypted]);
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  writeFileSync(
    join(home, '.ssh', 'authorized_keys'),
    readFileSync(`${key}.pub`, 'utf8') + readFileSync(`${encrypted}.pub`, 'utf8'),
    { mode: 0o600 },
  );
  execFileSync('chown', ['-R', `${name}:${name}`, join(home, '.ssh')]);

  const hostKey = join(dir, 'ssh_host_ed25519_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(
    ' ',
  )[1];
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await unusedPort();
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'PasswordAuthentication yes',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'UsePAM yes',
      `AllowUsers ${name}`,
      'AllowTcpForwarding yes',
      'AllowAgentForwarding yes',
      'X11Forwarding yes',
      'AcceptEnv LANG LC_* TZ TOLLGATE_*',
      'Subsystem sftp internal-sftp',
      process.env['SSHD_DEBUG'] ? 'LogLevel DEBUG2' : 'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  execFileSync(SSHD, ['-t', '-f', config]);
  // -D: stays in the foreground as our child, so stop() can end it by its own pid.
  const child: ChildProcess = spawn(SSHD, ['-D', '-f', config, '-E', join(dir, 'sshd.log')], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  return {
    host: '127.0.0.1',
    port,
    fingerprint,
    user: {
      name,
      home,
      password,
      privateKey: readFileSync(key, 'utf8'),
      encryptedKey: readFileSync(encrypted, 'utf8'),
      passphrase,
    },
    dir,
    stop: () => {
      child.kill('SIGTERM');
      try {
        execFileSync('userdel', ['--remove', '--force', name], { stdio: 'ignore' });
      } catch {
        // The user's processes may still be going away; the name is unique per run anyway.
      }
      temp.remove();
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let attempt = 0; attempt < 100; attempt++) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`sshd did not listen on 127.0.0.1:${port}`);
}
