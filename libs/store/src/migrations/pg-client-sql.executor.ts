import type { Client, Pool } from 'pg';
import type { SqlExecutor, SqlQueryOptions, SqlRow } from './sql-executor';

/** Over a Client (one session) or a Pool (each query on any idle connection). */
export function pgClientSqlExecutor(client: Client | Pool): SqlExecutor {
  return {
    async query<Row extends SqlRow = SqlRow>(
      sql: string,
      params: readonly unknown[] = [],
      options: SqlQueryOptions = {},
    ): Promise<Row[]> {
      const result = await client.query<Row>(
        options.name !== undefined
          ? { name: options.name, text: sql, values: [...params] }
          : { text: sql, values: [...params] },
      );
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      // Without parameters pg uses the simple query protocol, which accepts a whole script.
      await client.query(sql);
    },
  };
}
