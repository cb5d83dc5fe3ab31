import { silentLog, type StoreLog } from '../store-log';
import { applyMigration } from './apply-migration';
import { readMigrationFiles } from './migration-files';
import { planMigrations } from './migration-plan';
import { ensureMigrationsTable, readRecordedMigrations } from './migrations-table';
import type { SqlExecutor } from './sql-executor';

/** The key Prisma's schema engine locks, so our runner and `prisma migrate` exclude each other. */
const MIGRATION_ADVISORY_LOCK_KEY = 72707369;

export interface RunMigrationsOptions {
  /** A Prisma migrations folder; see findMigrationsDir() for the repository's own. */
  readonly migrationsDir: string;
  readonly log?: StoreLog;
}

export interface RunMigrationsResult {
  /** Migrations applied by this run, in order; empty when the database was up to date. */
  readonly applied: string[];
}

/**
 * Applies the pending migrations of a Prisma migrations folder, keeping Prisma's
 * `_prisma_migrations` history. Holds a session advisory lock for the whole run so two
 * gateways starting against one PostgreSQL do not race.
 */
export async function runMigrations(
  db: SqlExecutor,
  options: RunMigrationsOptions,
): Promise<RunMigrationsResult> {
  const log = options.log ?? silentLog;
  const files = await readMigrationFiles(options.migrationsDir);
  await takeLock(db, log);
  try {
    await ensureMigrationsTable(db);
    const plan = planMigrations(files, await readRecordedMigrations(db));
    if (plan.unknownApplied.length > 0) {
      log('warn', 'database has migrations this build does not know; it was migrated by a newer version', {
        migrations: plan.unknownApplied,
      });
    }
    const applied: string[] = [];
    for (const file of plan.pending) {
      log('info', 'applying migration', { migration: file.name });
      await applyMigration(db, file);
      applied.push(file.name);
    }
    log(applied.length > 0 ? 'info' : 'debug', 'database schema is up to date', {
      applied,
      total: files.length,
    });
    return { applied };
  } finally {
    await unlock(db, log);
  }
}

async function takeLock(db: SqlExecutor, log: StoreLog): Promise<void> {
  const [row] = await db.query<{ locked: boolean }>(
    `SELECT pg_try_advisory_lock(${MIGRATION_ADVISORY_LOCK_KEY}) AS locked`,
  );
  if (row?.locked) return;
  // Another instance is migrating; its migration may legitimately take long, so wait, but say why.
  log('info', 'waiting for another process to finish migrating the database');
  await db.query(`SELECT pg_advisory_lock(${MIGRATION_ADVISORY_LOCK_KEY})`);
}

async function unlock(db: SqlExecutor, log: StoreLog): Promise<void> {
  try {
    await db.query(`SELECT pg_advisory_unlock(${MIGRATION_ADVISORY_LOCK_KEY})`);
  } catch (error) {
    // Must not hide the error that brought us here; the lock dies with the session anyway.
    log('warn', 'could not release the migration lock', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
