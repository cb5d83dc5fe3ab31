import { PGlite } from '@electric-sql/pglite';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MigrationFailedError } from '../errors/migration-failed.error';
import { MigrationHistoryError } from '../errors/migration-history.error';
import { writeMigrationsFolder } from '../test-support/migrations-folder';
import { removeDir } from '../test-support/temp-dir';
import { findMigrationsDir } from './find-migrations-dir';
import { runMigrations } from './migration-runner';
import { pgliteSqlExecutor } from './pglite-sql.executor';
import type { SqlExecutor } from './sql-executor';

interface HistoryRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
  applied_steps_count: number;
  [column: string]: unknown;
}

const history = (db: SqlExecutor) =>
  db.query<HistoryRow>('SELECT * FROM "_prisma_migrations" ORDER BY migration_name, started_at');

const tableExists = async (db: SqlExecutor, table: string) => {
  const [row] = await db.query<{ name: string | null }>('SELECT to_regclass($1)::text AS name', [table]);
  return row?.name !== null && row?.name !== undefined;
};

describe('runMigrations (PGlite)', () => {
  let pglite: PGlite;
  let db: SqlExecutor;
  const folders: string[] = [];
  const folder = (migrations: Record<string, string>) => {
    const dir = writeMigrationsFolder(migrations);
    folders.push(dir);
    return dir;
  };

  beforeEach(async () => {
    pglite = await PGlite.create();
    db = pgliteSqlExecutor(pglite);
  });

  afterEach(async () => {
    await pglite.close();
    folders.splice(0).forEach(removeDir);
  });

  it("applies the repository's migrations and records them as Prisma does", async () => {
    const dir = findMigrationsDir();
    const result = await runMigrations(db, { migrationsDir: dir });

    const folders = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    expect(result.applied).toEqual(folders);
    expect(result.applied[0]).toMatch(/^\d{14}_init$/);
    for (const table of [
      'users',
      'groups',
      'memberships',
      'agents',
      'connections',
      'sessions',
      'session_events',
      'audit_entries',
    ]) {
      expect(await tableExists(db, table)).toBe(true);
    }
    const [row] = await history(db);
    const file = readFileSync(join(dir, result.applied[0], 'migration.sql'));
    expect(row).toMatchObject({
      migration_name: result.applied[0],
      checksum: createHash('sha256').update(file).digest('hex'),
      rolled_back_at: null,
      logs: null,
      applied_steps_count: 1,
    });
    expect(row.finished_at).toBeInstanceOf(Date);
    expect(row.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('applies migrations in folder order and does nothing on a second run', async () => {
    const dir = folder({
      '002_add_column': 'ALTER TABLE t ADD COLUMN b int;',
      '001_create': 'CREATE TABLE t (a int);',
    });
    const first = await runMigrations(db, { migrationsDir: dir });
    const rowsAfterFirst = await history(db);

    const second = await runMigrations(db, { migrationsDir: dir });

    expect(first.applied).toEqual(['001_create', '002_add_column']);
    expect(second.applied).toEqual([]);
    expect(await history(db)).toEqual(rowsAfterFirst);
  });

  it('applies only the new migration when one is added later', async () => {
    const dir = folder({ '001_create': 'CREATE TABLE t (a int);' });
    await runMigrations(db, { migrationsDir: dir });
    writeMigrationsFolder({ '002_index': 'CREATE INDEX t_a ON t (a);' }, dir);

    const result = await runMigrations(db, { migrationsDir: dir });

    expect(result.applied).toEqual(['002_index']);
    expect((await history(db)).map((row) => row.migration_name)).toEqual(['001_create', '002_index']);
  });

  it('stops at a broken migration, names it, records the error and applies nothing after it', async () => {
    const dir = folder({
      '001_ok': 'CREATE TABLE ok (a int);',
      '002_broken': 'CREATE TABLE half (a int);\nSELEC 1;',
      '003_later': 'CREATE TABLE later (a int);',
    });

    const error = await runMigrations(db, { migrationsDir: dir }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationFailedError);
    expect((error as MigrationFailedError).migrationName).toBe('002_broken');
    expect((error as Error).message).toContain('migration 002_broken failed');
    expect((error as Error).message).toContain('syntax error at or near "SELEC"');
    expect(await tableExists(db, 'ok')).toBe(true);
    expect(await tableExists(db, 'half')).toBe(false); // the file ran as one transaction
    expect(await tableExists(db, 'later')).toBe(false);
    const rows = await history(db);
    expect(rows.map((row) => row.migration_name)).toEqual(['001_ok', '002_broken']);
    expect(rows[1]).toMatchObject({ finished_at: null, rolled_back_at: null, applied_steps_count: 0 });
    expect(rows[1].logs).toContain('syntax error at or near "SELEC"');
    expect(rows[1].logs).toContain('42601');
  });

  it('refuses to run again after a failed attempt until it is marked rolled back', async () => {
    const dir = folder({ '001_broken': 'SELEC 1;', '002_later': 'CREATE TABLE later (a int);' });
    await expect(runMigrations(db, { migrationsDir: dir })).rejects.toBeInstanceOf(MigrationFailedError);
    writeFileSync(join(dir, '001_broken', 'migration.sql'), 'CREATE TABLE fixed (a int);');

    const refused = await runMigrations(db, { migrationsDir: dir }).catch((e: unknown) => e);

    expect(refused).toBeInstanceOf(MigrationHistoryError);
    expect((refused as MigrationHistoryError).problem).toBe('previously-failed');
    expect((refused as Error).message).toContain('migration 001_broken failed in an earlier run');
    expect(await tableExists(db, 'later')).toBe(false);

    await db.query(
      `UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '001_broken'`,
    );
    const retried = await runMigrations(db, { migrationsDir: dir });
    expect(retried.applied).toEqual(['001_broken', '002_later']);
  });

  it('refuses a migration whose file changed after it was applied, before applying anything new', async () => {
    const dir = folder({ '001_create': 'CREATE TABLE t (a int);' });
    await runMigrations(db, { migrationsDir: dir });
    writeFileSync(join(dir, '001_create', 'migration.sql'), 'CREATE TABLE t (a bigint);');
    writeMigrationsFolder({ '002_more': 'CREATE TABLE more (a int);' }, dir);

    const error = await runMigrations(db, { migrationsDir: dir }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MigrationHistoryError);
    expect((error as MigrationHistoryError).problem).toBe('checksum-mismatch');
    expect((error as Error).message).toContain('migration 001_create was changed after it was applied');
    expect(await tableExists(db, 'more')).toBe(false);
  });

  it('releases its advisory lock, also after a failure', async () => {
    const dir = folder({ '001_broken': 'SELEC 1;' });
    await expect(runMigrations(db, { migrationsDir: dir })).rejects.toThrow();

    const locks = await db.query(`SELECT 1 FROM pg_locks WHERE locktype = 'advisory'`);
    expect(locks).toEqual([]);
  });
});
