/** A migration's SQL failed; the database error is also recorded in `_prisma_migrations.logs`. */
export class MigrationFailedError extends Error {
  override readonly name = 'MigrationFailedError';

  constructor(
    readonly migrationName: string,
    readonly databaseError: string,
    options?: { cause?: unknown },
  ) {
    super(`migration ${migrationName} failed: ${databaseError}`, options);
  }
}
