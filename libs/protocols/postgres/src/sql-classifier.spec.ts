import { beforeAll, describe, expect, it } from 'vitest';
import { classifySql, loadSqlClassifier, type SqlStatementFacts } from './sql-classifier';

beforeAll(async () => {
  await loadSqlClassifier();
});

function facts(sql: string): SqlStatementFacts[] {
  const result = classifySql(sql);
  if (!result.ok) throw new Error(result.error);
  return [...result.statements];
}

describe('classifySql', () => {
  it.each([
    ['SELECT * FROM users WHERE id = 1', { type: 'SELECT', tables: ['users'], readOnly: true }],
    [
      'select 1 from app.accounts a join ledger l on true',
      { type: 'SELECT', tables: ['app.accounts', 'ledger'] },
    ],
    ['INSERT INTO audit_log (msg) VALUES ($1)', { type: 'INSERT', tables: ['audit_log'], readOnly: false }],
    ['UPDATE users SET name = $1', { type: 'UPDATE', hasWhere: false }],
    ['DELETE FROM users WHERE id = 7', { type: 'DELETE', tables: ['users'], hasWhere: true }],
    ['DROP TABLE IF EXISTS a, b.c', { type: 'DROP', tables: ['a', 'b.c'], readOnly: false }],
    ['drop index idx_users', { type: 'DROP INDEX' }],
    ['TRUNCATE payments', { type: 'TRUNCATE', tables: ['payments'] }],
    ['COPY users TO STDOUT', { type: 'COPY TO', tables: ['users'], readOnly: true }],
    ['COPY users FROM STDIN', { type: 'COPY FROM', readOnly: false }],
    ['CREATE TABLE t (id int)', { type: 'CREATE TABLE', readOnly: false }],
    ['ALTER TABLE t ADD COLUMN x int', { type: 'ALTER TABLE' }],
    ['GRANT SELECT ON t TO bob', { type: 'GRANT' }],
    ['REVOKE SELECT ON t FROM bob', { type: 'REVOKE' }],
    ['BEGIN', { type: 'TRANSACTION', readOnly: true }],
    ['SELECT * FROM t FOR UPDATE', { type: 'SELECT', readOnly: false }],
    ['SELECT * INTO copy_of_users FROM users', { type: 'SELECT INTO', readOnly: false }],
    ['DO $$ BEGIN DELETE FROM t; END $$', { type: 'DO', readOnly: false }],
  ])('%s', (sql, expected) => {
    expect(facts(sql)[0]).toMatchObject(expected);
  });

  it('splits a multi-statement string', () => {
    expect(facts('SELECT 1; DROP TABLE users; SELECT 2').map((f) => f.type)).toEqual([
      'SELECT',
      'DROP',
      'SELECT',
    ]);
  });

  it('finds data-modifying statements hidden in CTEs and names only real tables', () => {
    const all = facts('WITH gone AS (DELETE FROM users WHERE false RETURNING *) SELECT * FROM gone');
    expect(all[0]).toMatchObject({ type: 'SELECT', tables: [], readOnly: false });
    expect(all[1]).toMatchObject({ type: 'DELETE', tables: ['users'], hasWhere: true, nestedIn: 'SELECT' });
  });

  it("counts a MERGE's UPDATE and DELETE actions as an UPDATE or DELETE of the rows they reach", () => {
    const actions = (sql: string) =>
      facts(sql)
        .slice(1)
        .map((f) => [f.type, f.hasWhere, f.nestedIn, f.tables]);
    // ON true (or a join condition true for every target row) reaches every row, as DELETE FROM t.
    expect(actions('MERGE INTO t USING (SELECT 1) s ON true WHEN MATCHED THEN DELETE')).toEqual([
      ['DELETE', false, 'MERGE', ['t']],
    ]);
    expect(actions("MERGE INTO t USING t AS s ON t.id = s.id WHEN MATCHED THEN UPDATE SET x = 'y'")).toEqual([
      ['UPDATE', false, 'MERGE', ['t']],
    ]);
    expect(actions('MERGE INTO t USING u ON t.id = t.id WHEN MATCHED AND 1 = 1 THEN DELETE')).toEqual([
      ['DELETE', false, 'MERGE', ['t']],
    ]);
    // Pinned by the source's rows or by the action's own condition, it restricts.
    expect(actions('MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE')).toEqual([
      ['DELETE', true, 'MERGE', ['t']],
    ]);
    expect(
      actions("MERGE INTO t USING (SELECT 1) s ON true WHEN MATCHED AND t.id = 7 THEN UPDATE SET x = 'y'"),
    ).toEqual([['UPDATE', true, 'MERGE', ['t']]]);
    // NOT MATCHED BY SOURCE reaches target rows no source row matches: only its condition restricts.
    expect(actions('MERGE INTO t USING u ON t.id = u.id WHEN NOT MATCHED BY SOURCE THEN DELETE')).toEqual([
      ['DELETE', false, 'MERGE', ['t']],
    ]);
    expect(
      actions('MERGE INTO t USING u ON t.id = u.id WHEN NOT MATCHED BY SOURCE AND t.id = 3 THEN DELETE'),
    ).toEqual([['DELETE', true, 'MERGE', ['t']]]);
    // Inserting is neither.
    expect(actions('MERGE INTO t USING u ON true WHEN NOT MATCHED THEN INSERT VALUES (1)')).toEqual([]);
  });

  it('treats EXPLAIN ANALYZE as executing its statement, plain EXPLAIN as not', () => {
    expect(facts('EXPLAIN ANALYZE DELETE FROM t').map((f) => f.type)).toEqual(['EXPLAIN', 'DELETE']);
    expect(facts('EXPLAIN DELETE FROM t').map((f) => f.type)).toEqual(['EXPLAIN']);
  });

  it('reports what the parser cannot parse instead of guessing', () => {
    const result = classifySql('SELEC * FROM users');
    expect(result).toEqual({ ok: false, error: 'syntax error at or near "SELEC"' });
  });

  it('does not mistake keywords inside strings or comments for statements', () => {
    expect(facts("SELECT 'DROP TABLE users' /* TRUNCATE x */ -- DELETE\n").map((f) => f.type)).toEqual([
      'SELECT',
    ]);
  });

  it('answers a repeated statement the same (from its cache), and no caller can change the shared answer', () => {
    const first = classifySql('DELETE FROM orders WHERE id = 1');
    const again = classifySql('DELETE FROM orders WHERE id = 1');
    expect(again).toEqual(first);
    expect(again).toEqual({
      ok: true,
      statements: [{ type: 'DELETE', tables: ['orders'], hasWhere: true, readOnly: false }],
    });
    if (!again.ok) throw new Error('classified');
    expect(() => (again.statements as SqlStatementFacts[]).push(again.statements[0]!)).toThrow(TypeError);
    expect(classifySql('DELETE FROM orders WHERE id = 1')).toEqual(first);
    // A different text is classified on its own.
    expect(classifySql('DELETE FROM orders')).toMatchObject({ ok: true, statements: [{ hasWhere: false }] });
  });
});
