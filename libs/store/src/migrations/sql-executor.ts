export type SqlRow = Record<string, unknown>;

export interface SqlQueryOptions {
  /**
   * Prepare the statement under this name (once per connection) and reuse its parse and plan on
   * later calls; the same name must always come with the same text. Ignored where the driver keeps
   * no named statements (PGlite).
   */
  readonly name?: string;
}

/**
 * The little the migration runner needs from a database connection, so it runs the same over
 * PGlite and a pg Client without Prisma. `exec` sends a script whole with the simple query
 * protocol: PostgreSQL runs a multi-statement script as one implicit transaction.
 */
export interface SqlExecutor {
  query<Row extends SqlRow = SqlRow>(
    sql: string,
    params?: readonly unknown[],
    options?: SqlQueryOptions,
  ): Promise<Row[]>;
  exec(sql: string): Promise<void>;
}
