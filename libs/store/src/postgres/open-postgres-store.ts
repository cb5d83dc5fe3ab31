import { PrismaPg } from '@prisma/adapter-pg';
import { Client, Pool } from 'pg';
import { postgresChanges } from '../changes/postgres-changes';
import { StoreUnavailableError } from '../errors/store-unavailable.error';
import { PrismaClient } from '../generated/prisma/client';
import { runMigrations } from '../migrations/migration-runner';
import { pgClientSqlExecutor } from '../migrations/pg-client-sql.executor';
import { storeHandle } from '../store-handle';
import type { StoreLog } from '../store-log';
import type { Store } from '../store.types';
import { databaseUrlTarget, scrubPassword, type DatabaseUrlTarget } from './database-url-target';

const CONNECT_TIMEOUT_MS = 10_000;

export interface PostgresStoreOptions {
  readonly databaseUrl: string;
  readonly migrationsDir: string;
  readonly log: StoreLog;
}

export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const target = databaseUrlTarget(options.databaseUrl);
  await migrate(options, target);
  const pool = new Pool({
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', (error) => {
    options.log('warn', 'idle PostgreSQL connection failed', {
      database: target.describe,
      error: error.message,
    });
  });
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  const changes = await postgresChanges({
    connection: { connectionString: options.databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    log: options.log,
    describe: target.describe,
  });
  const store = storeHandle('postgres', target.describe, prisma, pgClientSqlExecutor(pool), changes, () =>
    pool.end(),
  );
  try {
    await store.ping();
  } catch (error) {
    await store.close().catch(() => {});
    throw unavailable(target, error);
  }
  return store;
}

/** Migrations run on a dedicated connection: the advisory lock is held by one session. */
async function migrate(options: PostgresStoreOptions, target: DatabaseUrlTarget): Promise<void> {
  const client = new Client({
    connectionString: options.databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  client.on('error', (error) => {
    options.log('warn', 'PostgreSQL migration connection failed', {
      database: target.describe,
      error: error.message,
    });
  });
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => {});
    throw unavailable(target, error);
  }
  try {
    await runMigrations(pgClientSqlExecutor(client), {
      migrationsDir: options.migrationsDir,
      log: options.log,
    });
  } finally {
    await client.end().catch(() => {});
  }
}

function unavailable(target: DatabaseUrlTarget, error: unknown): StoreUnavailableError {
  const reason = error instanceof Error ? error.message || errorCode(error) : String(error);
  return new StoreUnavailableError(target.hostPort, scrubPassword(reason, target.password));
}

function errorCode(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  // AggregateError (every address refused) has an empty message but a code.
  return code ?? error.name;
}
