/**
 * The row count a CommandComplete tag carries (`INSERT 0 5`, `UPDATE 3`, `DELETE 0`, `MERGE 2`,
 * `SELECT 7`, `COPY 10`, `FETCH 4`, `MOVE 1`), or undefined for a tag without one (`CREATE TABLE`).
 */
export function rowsOfCommandTag(tag: string): number | undefined {
  const match = /^(?:INSERT \d+|UPDATE|DELETE|MERGE|SELECT|COPY|FETCH|MOVE) (\d+)$/.exec(tag);
  return match ? Number(match[1]) : undefined;
}
