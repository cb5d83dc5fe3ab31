import type { Client } from 'pg';
import type { SqlExecutor, SqlRow } from './sql-executor';

export function pgClientSqlExecutor(client: Client): SqlExecutor {
  return {
    async query<Row extends SqlRow = SqlRow>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
      const result = await client.query<Row>(sql, [...params]);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      // Without parameters pg uses the simple query protocol, which accepts a whole script.
      await client.query(sql);
    },
  };
}
