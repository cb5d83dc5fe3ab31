export { openStore } from './store';
export type { OpenStoreOptions, Store, StoreKind } from './store.types';
export { CHANGES_CHANNEL, type ChangeListener, type StoreChanges } from './changes/store-changes';
export type { StoreLog, StoreLogLevel } from './store-log';
export { DataDirLockedError } from './errors/data-dir-locked.error';
export { MigrationFailedError } from './errors/migration-failed.error';
export { MigrationHistoryError, type MigrationHistoryProblem } from './errors/migration-history.error';
export { StoreUnavailableError } from './errors/store-unavailable.error';
export {
  runMigrations,
  type RunMigrationsOptions,
  type RunMigrationsResult,
} from './migrations/migration-runner';
export { findMigrationsDir } from './migrations/find-migrations-dir';
export type { SqlExecutor, SqlQueryOptions, SqlRow } from './migrations/sql-executor';
export { pgliteSqlExecutor } from './migrations/pglite-sql.executor';
export { pgClientSqlExecutor } from './migrations/pg-client-sql.executor';
export type { LockHolder } from './pglite/lock-holder';
export * from './generated/prisma/client';
