import type { PrismaClient } from './generated/prisma/client';
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
  readonly kind: StoreKind;
  /** Where the data lives, safe to log: `pglite:/path` or `postgres://host:port/db` (no credentials). */
  readonly describe: string;
  /** Resolves when the database answers a query. */
  ping(): Promise<void>;
  /** Disconnects and releases everything taken at open. Idempotent. */
  close(): Promise<void>;
}
