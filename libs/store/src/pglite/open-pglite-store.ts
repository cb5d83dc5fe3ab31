import type { PGlite } from '@electric-sql/pglite';
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
import { PgliteWorkerClient } from './pglite-worker-client';

export interface PgliteStoreOptions {
  readonly dataDir: string;
  readonly migrationsDir: string;
  readonly log: StoreLog;
  readonly command: string;
}

/**
 * The embedded database runs in a worker thread (PgliteWorkerClient): PGlite executes synchronously
 * in WebAssembly, and on the gateway's own thread every query would stall every session it relays.
 * The data directory lock is this process's, taken before the worker starts.
 */
export async function openPgliteStore(options: PgliteStoreOptions): Promise<Store> {
  const dataDir = resolve(options.dataDir);
  const describe = `pglite:${dataDir}`;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireDataDirLock(dataDir, {
    command: options.command,
    onTakeover: (msg, fields) => options.log('warn', msg, fields),
  });
  let db: PgliteWorkerClient | undefined;
  try {
    db = await openDatabase(dataDir, describe);
    await runMigrations(pgliteSqlExecutor(db), { migrationsDir: options.migrationsDir, log: options.log });
    const opened = db;
    // The adapter calls query, exec and transaction (and the transaction's query and rollback),
    // which the client serves as PGlite does.
    const prisma = new PrismaClient({ adapter: new PrismaPGlite(opened as unknown as PGlite) });
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

async function openDatabase(dataDir: string, describe: string): Promise<PgliteWorkerClient> {
  try {
    return await PgliteWorkerClient.open(dataDir, describe);
  } catch (error) {
    // PGlite's own messages for a damaged directory or one from another major are terse.
    const reason = error instanceof Error ? error.message : String(error);
    throw new StoreUnavailableError(describe, `PGlite could not open ${dataDir}: ${reason}`, {
      cause: error,
    });
  }
}
