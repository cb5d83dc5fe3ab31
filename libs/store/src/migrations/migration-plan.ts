import { MigrationHistoryError } from '../errors/migration-history.error';
import type { MigrationFile } from './migration-files';
import type { RecordedMigration } from './migrations-table';

export interface MigrationPlan {
  readonly pending: MigrationFile[];
  /** Recorded as applied but absent from the folder: the database is newer than this build. */
  readonly unknownApplied: string[];
}

/**
 * Decides what to apply. Rows marked rolled back are history only. Any problem with what is
 * already applied stops everything before a single new statement runs.
 */
export function planMigrations(
  files: readonly MigrationFile[],
  recorded: readonly RecordedMigration[],
): MigrationPlan {
  const live = recorded.filter((row) => row.rolled_back_at === null);
  const pending: MigrationFile[] = [];
  for (const file of files) {
    const rows = live.filter((row) => row.migration_name === file.name);
    const failed = rows.find((row) => row.finished_at === null);
    if (failed) throw MigrationHistoryError.previouslyFailed(file.name, failed.logs);
    const applied = rows.find((row) => row.finished_at !== null);
    if (!applied) pending.push(file);
    else if (applied.checksum !== file.checksum) throw MigrationHistoryError.checksumMismatch(file.name);
  }
  const known = new Set(files.map((file) => file.name));
  const unknownApplied = [...new Set(live.map((row) => row.migration_name))].filter(
    (name) => !known.has(name),
  );
  const unknownFailed = live.find((row) => row.finished_at === null && !known.has(row.migration_name));
  if (unknownFailed)
    throw MigrationHistoryError.previouslyFailed(unknownFailed.migration_name, unknownFailed.logs);
  return { pending, unknownApplied };
}
