import type { PGlite } from '@electric-sql/pglite';
import type { SqlExecutor, SqlRow } from './sql-executor';

export function pgliteSqlExecutor(db: PGlite): SqlExecutor {
  return {
    async query<Row extends SqlRow = SqlRow>(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
      const result = await db.query<Row>(sql, [...params]);
      return result.rows;
    },
    async exec(sql: string): Promise<void> {
      await db.exec(sql);
    },
  };
}
