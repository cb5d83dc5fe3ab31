import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyMysql } from '../sql-classifier';

const hasWhere = (sql: string): boolean | undefined => {
  const result = classifyMysql(sql);
  if (!result.ok) throw new Error(`unparsed: ${sql}: ${result.error}`);
  return result.statements[0]?.hasWhere;
};

/** WHEREs true for every row with non-null values: none may count as restricting. */
const TAUTOLOGIES = [
  '1',
  '1 = 1',
  'TRUE',
  'NOT FALSE',
  '!0',
  'NOT 0',
  '2 > 1',
  '-1',
  'id = id',
  'id >= id',
  't.id = t.id',
  "name LIKE '%'",
  "name NOT LIKE '%' OR 1",
  'id IS NOT NULL',
  'NOT (id IS NULL)',
  '(SELECT 1)',
  'EXISTS (SELECT 1)',
  'id = 3 OR id <> 3',
  'id = 3 OR NOT (id = 3)',
  'id < 5 OR id >= 5',
  'id <= 3 OR id >= 4',
  'id BETWEEN 1 AND 2 OR id NOT BETWEEN 1 AND 2',
  'id IN (1, 2) OR id NOT IN (1, 2)',
  'id = id + 0',
  'id IN (SELECT id FROM other)',
  'IF(1, 1, 0)',
  'CASE WHEN 1 THEN 1 END',
  '@v IS NULL OR 1',
  'COALESCE(1, id)',
  "name = name OR name <> 'x'",
  // IS and <=> are never NULL: NULL IS NULL is true.
  'id = 1 OR NULL IS NULL',
  'id = 1 OR 1 IS NOT NULL',
  'id = 1 OR 0 IS NOT TRUE',
  'id = 1 OR NOT (NULL IS NOT NULL)',
  // NULL OR 1 is 1 and NULL AND 0 is 0, not NULL.
  'id = 1 OR (NULL OR 1) = 1',
  'id = 1 OR (NULL AND 0) = 0',
];

/** WHEREs some non-null row fails. */
const RESTRICTING = [
  'id = 5',
  "name = 'x'",
  'id IN (1, 2)',
  'id > 3',
  'id = ?',
  'id = @v',
  'id BETWEEN 1 AND 9',
  "name LIKE 'a%'",
  'id IS NULL',
  'NOT (id <> 4)',
  'id = 1 OR id = 2',
  "id = 1 OR name = 'b'",
  'id < 3 OR id > 5',
  'id IN (SELECT o.x FROM other o)',
  'id = 1 AND 1',
  'id = NULL',
  'active',
  'NOT active',
  '0',
  'FALSE',
  'id = 1 OR NULL IS NOT NULL',
  'id = 1 OR 1 IS FALSE',
];

describe('MySQL require_where: a WHERE restricts only when some row fails it', () => {
  it.each(TAUTOLOGIES)('WHERE %s does not restrict', (where) => {
    expect(hasWhere(`DELETE FROM t WHERE ${where}`)).toBe(false);
    expect(hasWhere(`UPDATE t SET a = 1 WHERE ${where}`)).toBe(false);
  });

  it.each(RESTRICTING)('WHERE %s restricts', (where) => {
    expect(hasWhere(`DELETE FROM t WHERE ${where}`)).toBe(true);
  });

  it('counts LIMIT or ORDER BY without a WHERE as none (or the statement is unparsed)', () => {
    for (const sql of [
      'DELETE FROM t LIMIT 1',
      'UPDATE t SET a = 1 ORDER BY id LIMIT 10',
      'DELETE FROM t WHERE 1 LIMIT 5',
    ]) {
      const result = classifyMysql(sql);
      if (result.ok) expect(result.statements[0]?.hasWhere, sql).toBe(false);
      else expect(result.error, sql).toBeTruthy();
    }
  });

  it('pins only the modified table in multi-table statements', () => {
    expect(hasWhere('DELETE c FROM customers c JOIN o ON o.id = c.id WHERE c.id = 1')).toBe(true);
    expect(hasWhere('DELETE c FROM customers c JOIN o ON o.id = c.id WHERE o.x = 1')).toBe(false);
    expect(hasWhere('UPDATE customers c JOIN o USING (id) SET c.age = 1 WHERE o.x = 1')).toBe(false);
    expect(hasWhere('UPDATE customers c JOIN o USING (id) SET c.age = 1 WHERE c.id = 1')).toBe(true);
  });

  it('never counts a tautology as restricting, however it is combined (property)', () => {
    const tautology = fc.constantFrom(...TAUTOLOGIES);
    const any = fc.constantFrom(...TAUTOLOGIES, ...RESTRICTING);
    const where: fc.Arbitrary<string> = fc.letrec<{ t: string }>((tie) => ({
      t: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        tautology,
        fc.tuple(tie('t'), any).map(([t, x]) => `(${t}) OR (${x})`),
        fc.tuple(any, tie('t')).map(([x, t]) => `(${x}) OR (${t})`),
        fc.tuple(tie('t'), tie('t')).map(([a, b]) => `(${a}) AND (${b})`),
        tie('t').map((t) => `NOT (NOT (${t}))`),
      ),
    })).t;
    fc.assert(
      fc.property(where, (w) => {
        expect(hasWhere(`DELETE FROM t WHERE ${w}`), w).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});
