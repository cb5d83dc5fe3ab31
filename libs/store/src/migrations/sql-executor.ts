export type SqlRow = Record<string, unknown>;

/**
 * The little the migration runner needs from a database connection, so it runs the same over
 * PGlite and a pg Client without Prisma. `exec` sends a script whole with the simple query
 * protocol: PostgreSQL runs a multi-statement script as one implicit transaction.
 */
export interface SqlExecutor {
  query<Row extends SqlRow = SqlRow>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  exec(sql: string): Promise<void>;
}
