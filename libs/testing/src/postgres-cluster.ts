import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/**
 * A throwaway PostgreSQL cluster that really authenticates: the machine's own server trusts every
 * loopback login, which would prove nothing about the proxy's target authentication. Users:
 * `tg_scram` (SCRAM-SHA-256), `tg_md5` (MD5) and `tg_clear` (cleartext password), all with the
 * given password and owning the database `app`.
 */
export interface PostgresCluster {
  readonly host: string;
  readonly port: number;
  readonly password: string;
  /** Runs SQL as the superuser over the Unix socket (trusted), returning psql's unaligned output. */
  sql(statement: string, database?: string): string;
  /** How a proxy reaches the cluster as `username` (default tg_scram) on `database` (default app), TLS off. */
  target(
    database?: string,
    username?: string,
  ): {
    host: string;
    port: number;
    database: string;
    username: string;
    password: string;
    tls: { mode: 'disable' };
  };
  stop(): void;
}

const BIN = join('/usr/lib/postgresql', latestMajor(), 'bin');

export async function startPostgresCluster(
  password = 'correct horse battery staple',
): Promise<PostgresCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-pg-'));
  const data = join(dir, 'data');
  const asPostgres = userInfo().uid === 0;
  const run = (file: string, args: string[]) =>
    asPostgres
      ? execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', [file, ...args].map(shellQuote).join(' ')], {
          encoding: 'utf8',
        })
      : execFileSync(file, args, { encoding: 'utf8' });
  if (asPostgres) {
    const { uid, gid } = postgresIds();
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  run(join(BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'postgres',
    '--auth-local=trust',
    '--auth-host=reject',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  writeFileSync(
    join(data, 'pg_hba.conf'),
    [
      'local all all trust',
      'host all tg_md5 127.0.0.1/32 md5',
      'host all tg_clear 127.0.0.1/32 password',
      'host all all 127.0.0.1/32 scram-sha-256',
    ].join('\n') + '\n',
  );
  const port = await freePort();
  run(join(BIN, 'pg_ctl'), [
    '-D',
    data,
    '-l',
    join(dir, 'log'),
    '-w',
    '-o',
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`,
    'start',
  ]);
  const sql = (statement: string, database = 'postgres') =>
    run('/usr/bin/psql', [
      '-h',
      dir,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      database,
      '-v',
      'ON_ERROR_STOP=1',
      '-At',
      '-c',
      statement,
    ]);
  const literal = `'${password.replace(/'/g, "''")}'`;
  sql(`SET password_encryption = 'scram-sha-256'; CREATE ROLE tg_scram LOGIN PASSWORD ${literal}`);
  sql(`SET password_encryption = 'md5'; CREATE ROLE tg_md5 LOGIN PASSWORD ${literal}`);
  sql(`CREATE ROLE tg_clear LOGIN PASSWORD ${literal}`);
  sql('CREATE DATABASE app OWNER tg_scram');
  sql('GRANT ALL ON SCHEMA public TO tg_md5, tg_clear', 'app');
  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    password,
    sql,
    target: (database = 'app', username = 'tg_scram') => ({
      host: '127.0.0.1',
      port,
      database,
      username,
      password,
      tls: { mode: 'disable' },
    }),
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function latestMajor(): string {
  const majors = readdirSync('/usr/lib/postgresql').filter((d) => /^\d+$/.test(d));
  return majors.sort((a, b) => Number(b) - Number(a))[0] ?? '15';
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

function shellQuote(arg: string): string {
  return `'${arg.replace(/'/g, "'\\''")}'`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
