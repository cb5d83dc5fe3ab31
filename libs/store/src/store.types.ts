import type { StoreChanges } from './changes/store-changes';
import type { PrismaClient } from './generated/prisma/client';
import type { SqlExecutor } from './migrations/sql-executor';
import type { StoreLog } from './store-log';

export type StoreKind = 'pglite' | 'postgres';

export interface OpenStoreOptions {
  /** postgres://... ; without it the embedded PGlite database in `dataDir` is used. */
  readonly databaseUrl?: string;
  /** Tollgate's data directory; holds the PGlite database and its lock. */
  readonly dataDir: string;
  readonly log?: StoreLog;
  /** Defaults to the repository's prisma/migrations (findMigrationsDir()). */
  readonly migrationsDir?: string;
  /** Written into the data directory lock so a refused second process can say who holds it. */
  readonly command?: string;
}

export interface Store {
  readonly prisma: PrismaClient;
  /**
   * The driver underneath Prisma, for the few hot paths where Prisma's per-query overhead matters
   * (the audit group committer): the pg pool (each query on its own connection, autocommit) or the
   * PGlite instance (queries wait for any open transaction to finish).
   */
  readonly sql: SqlExecutor;
  readonly kind: StoreKind;
  /** Changes to what session opens decide by, as they commit (see StoreChanges). */
  readonly changes: StoreChanges;
  /** Where the data lives, safe to log: `pglite:/path` or `postgres://host:port/db` (no credentials). */
  readonly describe: string;
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  /** Disconnects and releases everything taken at open. Idempotent. */
  close(): Promise<void>;
}
