import { PGlite } from '@electric-sql/pglite';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { pgliteChanges } from '../changes/pglite-changes';
import { StoreUnavailableError } from '../errors/store-unavailable.error';
import { PrismaClient } from '../generated/prisma/client';
import { runMigrations } from '../migrations/migration-runner';
import { pgliteSqlExecutor } from '../migrations/pglite-sql.executor';
import { storeHandle } from '../store-handle';
import type { StoreLog } from '../store-log';
import type { Store } from '../store.types';
import { acquireDataDirLock } from './data-dir-lock';

export interface PgliteStoreOptions {
  readonly dataDir: string;
  readonly migrationsDir: string;
  readonly log: StoreLog;
  readonly command: string;
}

export async function openPgliteStore(options: PgliteStoreOptions): Promise<Store> {
  const dataDir = resolve(options.dataDir);
  const describe = `pglite:${dataDir}`;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataDirLock(dataDir, {
    command: options.command,
    onTakeover: (msg, fields) => options.log('warn', msg, fields),
  });
  let db: PGlite | undefined;
  try {
    db = await openDatabase(dataDir, describe);
    await runMigrations(pgliteSqlExecutor(db), { migrationsDir: options.migrationsDir, log: options.log });
    const opened = db;
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(opened) });
    const changes = await pgliteChanges(opened);
    return storeHandle('pglite', describe, prisma, pgliteSqlExecutor(opened), changes, async () => {
      try {
        await opened.close();
      } finally {
        lock.release();
      }
    });
  } catch (error) {
    await db?.close().catch(() => {});
    lock.release();
    throw error;
  }
}

async function openDatabase(dataDir: string, describe: string): Promise<PGlite> {
  try {
    return await PGlite.create(dataDir);
  } catch (error) {
    // PGlite's own messages for a damaged directory or one from another major are terse.
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(describe, `PGlite could not open ${dataDir}: ${reason}`, {
      cause: error,
    });
  }
}
