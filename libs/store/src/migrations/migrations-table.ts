import type { SqlExecutor } from './sql-executor';

/** Prisma's own definition, so Prisma's CLI accepts a history this runner wrote and vice versa. */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

export type RecordedMigration = {
  readonly id: string;
  readonly checksum: string;
  readonly migration_name: string;
  readonly finished_at: Date | null;
  readonly rolled_back_at: Date | null;
  readonly logs: string | null;
  readonly started_at: Date;
  readonly applied_steps_count: number;
};

export async function ensureMigrationsTable(db: SqlExecutor): Promise<void> {
  await db.exec(CREATE_MIGRATIONS_TABLE);
}

export async function readRecordedMigrations(db: SqlExecutor): Promise<RecordedMigration[]> {
  return db.query<RecordedMigration>(
    `SELECT id, checksum, migration_name, finished_at, rolled_back_at, logs, started_at, applied_steps_count
       FROM "_prisma_migrations" ORDER BY started_at, migration_name`,
  );
}

/** SQL that records a migration as finished; appended to the migration's own script (see apply-migration). */
export function recordFinishedSql(id: string, name: string, checksum: string): string {
  return `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, finished_at, applied_steps_count)
VALUES (${literal(id)}, ${literal(checksum)}, ${literal(name)}, now(), clock_timestamp(), 1)`;
}

export async function recordFailed(
  db: SqlExecutor,
  row: { id: string; name: string; checksum: string; logs: string; startedAt: Date },
): Promise<void> {
  await db.query(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, logs, started_at, applied_steps_count)
     VALUES ($1, $2, $3, $4, $5, 0)`,
    [row.id, row.checksum, row.name, row.logs, row.startedAt],
  );
}

/** An escape-string literal, correct whatever standard_conforming_strings says. */
function literal(value: string): string {
  return `E'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}
