import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { openTerminal } from './tmux';

/** The machine's MariaDB (root without a password on loopback), where tests make throwaway users. */
export const MACHINE_MARIADB = { host: '127.0.0.1', port: 3306, user: 'root' } as const;

export interface MariadbTestDatabase {
  readonly name: string;
  /** Users of this database, one per authentication plugin, all with `password`. */
  readonly users: { readonly native: string; readonly ed25519: string };
  readonly password: string;
  /** Runs SQL as root in this database (the mariadb CLI); returns its tab-separated output. */
  sql(statements: string): string;
  drop(): void;
}

/** Runs SQL as root with the mariadb CLI. */
export function mariadbRoot(statements: string, database?: string): string {
  return execFileSync(
    'mariadb',
    [
      '-h',
      MACHINE_MARIADB.host,
      '-P',
      String(MACHINE_MARIADB.port),
      '-u',
      MACHINE_MARIADB.user,
      '-N',
      '-B',
      ...(database ? [database] : []),
    ],
    { input: statements, encoding: 'utf8' },
  );
}

/**
 * Creates a database on the machine's MariaDB with two users that own it: one authenticated by
 * mysql_native_password, one by ed25519 (the plugin is installed when missing). `drop` removes all.
 */
export function createMariadbDatabase(): MariadbTestDatabase {
  const id = randomBytes(5).toString('hex');
  const name = `tollgate_test_${id}`;
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const users = { native: `tg_native_${id}`, ed25519: `tg_ed_${id}` };
  const installed = mariadbRoot(
    "SELECT COUNT(*) FROM information_schema.plugins WHERE plugin_name = 'ed25519' AND plugin_status = 'ACTIVE'",
  ).trim();
  if (installed === '0') mariadbRoot("INSTALL SONAME 'auth_ed25519'");
  mariadbRoot(
    `CREATE DATABASE ${name};
     CREATE USER '${users.native}'@'%' IDENTIFIED VIA mysql_native_password USING PASSWORD('${password}');
     CREATE USER '${users.ed25519}'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('${password}');
     GRANT ALL ON ${name}.* TO '${users.native}'@'%';
     GRANT ALL ON ${name}.* TO '${users.ed25519}'@'%';`,
  );
  return {
    name,
    users,
    password,
    sql: (statements) => mariadbRoot(statements, name),
    drop: () =>
      void mariadbRoot(
        `DROP DATABASE IF EXISTS ${name}; DROP USER IF EXISTS '${users.native}'@'%'; DROP USER IF EXISTS '${users.ed25519}'@'%';`,
      ),
  };
}

/**
 * The mariadb CLI on a terminal of its own (`command`) runs `UPDATE scratch SET id = 7 WHERE id =
 * 1` against `db`, which a policy holds for review: the hold must show as a MariaDB progress report
 * matching `shown` (its review id read from it) while nothing has changed at the server; once
 * `approve(review)` resolves, the CLI reports the row and the server has it.
 */
export async function heldUpdateOnMariadbTerminal(
  db: MariadbTestDatabase,
  command: string,
  shown: RegExp,
  approve: (review: string) => Promise<void>,
): Promise<void> {
  db.sql('INSERT INTO scratch VALUES (1)');
  // The CLI shows progress reports on an interactive terminal: run it on one.
  const terminal = openTerminal(command);
  try {
    terminal.line('UPDATE scratch SET id = 7 WHERE id = 1;');
    await expect.poll(() => terminal.screen(), { timeout: 20_000 }).toMatch(shown);
    const review = /review ([0-9a-f-]{36})/.exec(terminal.screen())?.[1] as string;
    expect(db.sql('SELECT id FROM scratch').trim()).toBe('1');
    await approve(review);
    await expect.poll(() => terminal.screen(), { timeout: 20_000 }).toMatch(/Query OK, 1 row affected/);
    expect(db.sql('SELECT id FROM scratch').trim()).toBe('7');
  } finally {
    terminal.stop();
    db.sql('DELETE FROM scratch');
  }
}
