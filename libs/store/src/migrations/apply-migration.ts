import { randomUUID } from 'node:crypto';
import { MigrationFailedError } from '../errors/migration-failed.error';
import { databaseErrorText } from './database-error-text';
import type { MigrationFile } from './migration-files';
import { recordFailed, recordFinishedSql } from './migrations-table';
import type { SqlExecutor } from './sql-executor';

/**
 * Runs one migration file whole. The "finished" row is appended to the same script, so the
 * simple query protocol's implicit transaction commits the schema change and its record together,
 * or neither. (A file with its own BEGIN/COMMIT, or a statement that refuses to run inside a
 * transaction, opts out of that, exactly as it would under Prisma.) A failure is recorded with
 * its error in `logs` and leaves an unfinished row, which stops later runs until someone looks.
 */
export async function applyMigration(db: SqlExecutor, file: MigrationFile): Promise<void> {
  const id = randomUUID();
  const startedAt = new Date();
  try {
    await db.exec(`${file.sql}\n;\n${recordFinishedSql(id, file.name, file.checksum)};`);
  } catch (error) {
    const text = databaseErrorText(error);
    // If the connection itself died the record cannot be written; the migration's error matters more.
    await recordFailed(db, {
      id,
      name: file.name,
      checksum: file.checksum,
      logs: text.logs,
      startedAt,
    }).catch(() => {});
    throw new MigrationFailedError(file.name, text.summary, { cause: error });
  }
}
