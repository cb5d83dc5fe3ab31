export type MigrationHistoryProblem = 'checksum-mismatch' | 'previously-failed';

/**
 * The database's migration history does not agree with the migrations folder, so applying more
 * migrations could build on a schema nobody intended. Start-up stops until a person decides.
 */
export class MigrationHistoryError extends Error {
  override readonly name = 'MigrationHistoryError';

  private constructor(
    readonly migrationName: string,
    readonly problem: MigrationHistoryProblem,
    message: string,
  ) {
    super(message);
  }

  static checksumMismatch(migrationName: string): MigrationHistoryError {
    return new MigrationHistoryError(
      migrationName,
      'checksum-mismatch',
      `migration ${migrationName} was changed after it was applied to this database (its checksum differs); ` +
        'restore the original migration.sql and put the change in a new migration',
    );
  }

  static previouslyFailed(migrationName: string, logs: string | null): MigrationHistoryError {
    const recorded = logs ? ` Recorded error: ${logs.trim()}` : '';
    return new MigrationHistoryError(
      migrationName,
      'previously-failed',
      `migration ${migrationName} failed in an earlier run; repair the database by hand, then mark the attempt ` +
        `rolled back (UPDATE "_prisma_migrations" SET rolled_back_at = now() WHERE migration_name = '${migrationName}' ` +
        `AND finished_at IS NULL) and start again.${recorded}`,
    );
  }
}
