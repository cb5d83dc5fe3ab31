import { basename } from 'node:path';
import { findMigrationsDir } from './migrations/find-migrations-dir';
import { openPgliteStore } from './pglite/open-pglite-store';
import { openPostgresStore } from './postgres/open-postgres-store';
import { silentLog } from './store-log';
import type { OpenStoreOptions, Store } from './store.types';

/**
 * Opens Tollgate's database and brings its schema up to date: PostgreSQL when a URL is given,
 * otherwise the embedded PGlite database in the data directory (locked against other processes).
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const log = options.log ?? silentLog;
  const migrationsDir = options.migrationsDir ?? findMigrationsDir();
  const store = options.databaseUrl
    ? await openPostgresStore({ databaseUrl: options.databaseUrl, migrationsDir, log })
    : await openPgliteStore({
        dataDir: options.dataDir,
        migrationsDir,
        log,
        command: options.command ?? defaultCommand(),
      });
  log('info', 'store opened', { store: store.describe });
  return store;
}

function defaultCommand(): string {
  const script = process.argv[1];
  return [script ? basename(script) : basename(process.execPath), ...process.argv.slice(2)].join(' ');
}
