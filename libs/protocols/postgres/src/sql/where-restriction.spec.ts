import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifySql, loadSqlClassifier } from '../sql-classifier';

beforeAll(async () => {
  await loadSqlClassifier();
});

/** Whether the statement's (first UPDATE/DELETE) WHERE counts as restricting its rows. */
function restricts(sql: string): boolean {
  const result = classifySql(sql);
  if (!result.ok) throw new Error(`${result.error}: ${sql}`);
  const statement = result.statements.find((s) => s.type === 'UPDATE' || s.type === 'DELETE');
  if (!statement) throw new Error(`no UPDATE or DELETE in ${sql}`);
  return statement.hasWhere;
}
const del = (where: string) => restricts(`DELETE FROM t WHERE ${where}`);

describe('require_where: a WHERE that restricts nothing is no WHERE', () => {
  it.each([
    'true',
    'TRUE AND true',
    "'t'",
    "'yes'::boolean",
    'NOT false',
    '1 = 1',
    "'a' = 'a'",
    '2 > 1',
    '1 <> 2',
    'x = x',
    't.x = t.x',
    'x = x + 0',
    'x + 0 = x',
    'x >= x',
    'x IS NOT DISTINCT FROM x',
    'x::text = x::text',
    'lower(name) = lower(name)',
    'x = 5 OR true',
    'true OR x = 5',
    'x = 5 OR 1 = 1',
    'x = 5 OR x <> 5',
    'x <> 5 OR x = 5',
    "x = '5' OR x <> 5",
    'x < 5 OR x >= 5',
    'x <= 5 OR x > 5',
    'x < 5 OR x > 4',
    'x <= 3 OR x >= 4',
    'x > 3 OR x < 4',
    'x BETWEEN 1 AND 10 OR x < 1 OR x > 10',
    'x NOT BETWEEN 1 AND 10 OR x BETWEEN 1 AND 10',
    'x IN (1, 2) OR x NOT IN (1, 2)',
    'x = ANY(ARRAY[1, 2]) OR x <> ALL(ARRAY[1, 2])',
    'NOT (x = 5 AND x <> 5)',
    'NOT (x < 3 AND x > 2)',
    'x IS NULL OR x IS NOT NULL',
    'x IS NOT NULL',
    'x IS DISTINCT FROM NULL',
    "name LIKE '%'",
    "name LIKE '%%'",
    "name ILIKE '%' OR x = 1",
    "name LIKE 'a%' OR name NOT LIKE 'a%'",
    "name NOT LIKE 'a%' OR name LIKE 'a%'",
    'flag OR NOT flag',
    'flag = true OR flag = false',
    "flag = 't' OR flag = 'f'",
    'flag IS TRUE OR flag IS NOT TRUE',
    'flag IS TRUE OR flag IS FALSE',
    'NOT flag OR flag = true',
    'coalesce(true, x = 1)',
    'coalesce(x = 1, true)',
    'CASE WHEN true THEN true END',
    'CASE WHEN x = 1 THEN true ELSE true END',
    '(SELECT true)',
    'EXISTS (SELECT 1)',
    'EXISTS (SELECT 1 FROM t)',
    'NOT EXISTS (SELECT 1 FROM u WHERE false)',
    'x IN (SELECT x FROM t)',
    'x IN (SELECT t2.x FROM t AS t2)',
    'x IN (SELECT x FROM other)',
    'x = (SELECT x)',
    'x IN (SELECT o.x FROM other o WHERE o.y = x)',
    'x IN (SELECT v FROM (SELECT t.x AS v) s)',
    "created <= 'infinity'",
    "created >= '-infinity'",
    "created < 'infinity' OR created = 'infinity'",
    "created < '2024-01-02' OR created >= '2024-01-02'",
    "day <= '2024-01-01' OR day >= '2024-01-02'",
    "day < '2024-01-01' OR day > '2023-12-31'",
    'x = $1 OR x <> $1',
    'x < $1 OR x >= $2',
    'x = $1 OR x <> $2',
    '$1',
    '$1 = $1',
    'x OPERATOR(myschema.=) 5',
    'x SIMILAR TO $1',
    "x ~ '.*'",
    '(x, y) = (x, y)',
    '(x, y) <> (1, 2) OR (x, y) = (1, 2)',
    'x = 1 OR y = 2 OR x <> 1',
    '(x = 1 OR y = 2) OR (x <> 1 AND y <> 2)',
    "name LIKE '_%' OR name = ''",
    "name LIKE 'a%' OR name NOT LIKE 'a%' ESCAPE '!'",
    "name ILIKE 'A%' OR name NOT ILIKE 'a%'",
    'NOT (x IS NULL)',
    'x IS NOT UNKNOWN',
    'NULL IS NULL',
    '$1 IS NULL',
  ])('does not restrict: WHERE %s', (where) => {
    expect(del(where)).toBe(false);
  });

  it.each([
    'x = 5',
    '5 = x',
    't.x = 5',
    'x <> 5',
    'x = $1',
    'x = $1 AND y = $2',
    'x < 10',
    'x >= 10 AND true',
    'true AND x = 1',
    'x IN (1, 2, 3)',
    'x IN (1, NULL)',
    'x NOT IN (1, 2)',
    'x = ANY($1)',
    'x = ANY(ARRAY[1, 2])',
    'x BETWEEN 1 AND 10',
    'x NOT BETWEEN 1 AND 10',
    "name LIKE 'ab%'",
    "name ILIKE '%ab%'",
    "name LIKE '_%'",
    "name NOT LIKE 'ab%'",
    "name LIKE 'a!%' ESCAPE '!'",
    "name LIKE 'a%' OR name LIKE 'b%'",
    "name LIKE '_' OR name = 'ab'",
    'x IS NULL',
    'x IS DISTINCT FROM 3',
    'x IS NOT DISTINCT FROM 3',
    'flag',
    'NOT flag',
    'flag IS TRUE',
    'flag = true',
    'NOT (x <> 5)',
    'NOT (x = 5 OR y = 6)',
    'x = 1 OR x = 2',
    'x = 1 OR y = 2',
    'x < 3 OR x > 5',
    'x <= 3 OR x >= 5',
    "created < '2024-01-01' OR created > '2024-12-31'",
    'x = 5 OR false',
    'x = 5 OR 1 = 0',
    'x = 5 OR NULL',
    'false',
    '1 = 0',
    'NULL',
    'x = NULL',
    'x::text = $1',
    'x = lower($1)',
    'x = now()',
    'x IN (SELECT o.user_id FROM orders o)',
    'x IN (SELECT user_id FROM orders)',
    'x = (SELECT max(o.v) FROM other o)',
    'EXISTS (SELECT 1 FROM orders o WHERE o.user_id = t.x)',
    'EXISTS (SELECT 1 FROM orders o JOIN items i ON i.o = o.id WHERE t.x = o.user_id AND i.n > 3)',
    '(x, y) = (1, 2)',
    '(x = 1 AND y = 2) OR (x = 3 AND y = 4)',
    'x = 1 AND (y = 2 OR true)',
    'x OPERATOR(pg_catalog.=) 5',
  ])('restricts: WHERE %s', (where) => {
    expect(del(where)).toBe(true);
  });

  it('needs qualified columns when other relations are joined (an unqualified one could be theirs)', () => {
    expect(restricts('DELETE FROM t USING u WHERE t.id = u.id')).toBe(true);
    expect(restricts('UPDATE t SET a = 1 FROM u WHERE t.id = u.tid AND u.flag')).toBe(true);
    expect(restricts('DELETE FROM t USING u WHERE id = 5')).toBe(false);
    // A join of the table with itself (or with a subquery over it) matches every row.
    expect(restricts('DELETE FROM t USING t AS t2 WHERE t.id = t2.id')).toBe(false);
    expect(restricts('DELETE FROM t USING (SELECT id FROM t) s WHERE t.id = s.id')).toBe(false);
    expect(restricts('UPDATE t AS a SET x = 1 FROM t AS b WHERE a.id = b.id')).toBe(false);
  });

  it('follows CTEs that read the target table, nested statements included', () => {
    expect(
      restricts('WITH ids AS (SELECT id FROM t) DELETE FROM t WHERE id IN (SELECT ids.id FROM ids)'),
    ).toBe(false);
    expect(
      restricts(
        'WITH a AS (SELECT id FROM t), b AS (SELECT a.id FROM a) DELETE FROM t USING b WHERE t.id = b.id',
      ),
    ).toBe(false);
    expect(
      restricts('WITH ids AS (SELECT user_id FROM orders) DELETE FROM t USING ids WHERE t.id = ids.user_id'),
    ).toBe(true);
    const nested = classifySql('WITH d AS (DELETE FROM t WHERE id = id RETURNING *) SELECT * FROM d');
    expect(nested).toMatchObject({
      ok: true,
      statements: [{ type: 'SELECT' }, { type: 'DELETE', hasWhere: false }],
    });
  });

  it('counts WHERE CURRENT OF and an UPDATE without WHERE as they are', () => {
    expect(restricts('DELETE FROM t WHERE CURRENT OF c')).toBe(true);
    expect(restricts('UPDATE t SET x = 1')).toBe(false);
    expect(restricts('UPDATE t SET x = 1 WHERE x = x')).toBe(false);
    expect(restricts('UPDATE ONLY t SET x = 1 WHERE id = 4')).toBe(true);
  });

  it('gives up (does not restrict) on predicates too large to search', () => {
    const big = Array.from({ length: 30 }, (_, i) => `(x = ${i} OR y = ${i})`).join(' AND ');
    const tautology = `(${big}) OR x = x`;
    expect(del(tautology)).toBe(false);
  });
});

// ---- properties: every predicate true for all rows is refused, whatever its shape ------------------

type V = boolean | null;
type Term = { col: 'x' | 'y' } | { num: number } | { nul: true } | { plus: 'x' | 'y'; n: number };
type Pred =
  | { k: 'cmp'; l: Term; op: '=' | '<>' | '<' | '<=' | '>' | '>='; r: Term }
  | { k: 'in'; col: 'x' | 'y'; values: (number | null)[]; not: boolean }
  | { k: 'between'; col: 'x' | 'y'; lo: number; hi: number; not: boolean }
  | { k: 'null'; col: 'x' | 'y'; not: boolean }
  | { k: 'distinct'; col: 'x' | 'y'; value: number | null; not: boolean }
  | { k: 'and' | 'or'; a: Pred; b: Pred }
  | { k: 'not'; a: Pred }
  | { k: 'const'; v: V };

const column = fc.constantFrom<'x' | 'y'>('x', 'y');
const small = fc.integer({ min: -3, max: 3 });
const term: fc.Arbitrary<Term> = fc.oneof(
  { weight: 4, arbitrary: column.map((col) => ({ col })) },
  { weight: 4, arbitrary: small.map((num) => ({ num })) },
  { weight: 1, arbitrary: fc.constant({ nul: true as const }) },
  { weight: 1, arbitrary: fc.record({ plus: column, n: fc.integer({ min: -1, max: 1 }) }) },
);
const predicate: fc.Arbitrary<Pred> = fc.letrec<{ p: Pred }>((tie) => ({
  p: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      k: fc.constant('cmp' as const),
      l: term,
      op: fc.constantFrom('=', '<>', '<', '<=', '>', '>=' as const),
      r: term,
    }),
    fc.record({
      k: fc.constant('in' as const),
      col: column,
      values: fc.array(
        fc.oneof({ weight: 5, arbitrary: small }, { weight: 1, arbitrary: fc.constant(null) }),
        {
          minLength: 1,
          maxLength: 3,
        },
      ),
      not: fc.boolean(),
    }),
    fc.record({ k: fc.constant('between' as const), col: column, lo: small, hi: small, not: fc.boolean() }),
    fc.record({ k: fc.constant('null' as const), col: column, not: fc.boolean() }),
    fc.record({
      k: fc.constant('distinct' as const),
      col: column,
      value: fc.oneof(small, fc.constant(null)),
      not: fc.boolean(),
    }),
    fc.record({ k: fc.constantFrom('and' as const, 'or' as const), a: tie('p'), b: tie('p') }),
    fc.record({ k: fc.constant('not' as const), a: tie('p') }),
    fc.record({ k: fc.constant('const' as const), v: fc.constantFrom<V>(true, false, null) }),
  ),
})).p;

const sqlTerm = (t: Term): string =>
  'col' in t ? t.col : 'num' in t ? String(t.num) : 'nul' in t ? 'NULL' : `(${t.plus} + ${t.n})`;
const literal = (v: number | null) => (v === null ? 'NULL' : String(v));
function sql(p: Pred): string {
  switch (p.k) {
    case 'cmp':
      return `${sqlTerm(p.l)} ${p.op} ${sqlTerm(p.r)}`;
    case 'in':
      return `${p.col} ${p.not ? 'NOT IN' : 'IN'} (${p.values.map(literal).join(', ')})`;
    case 'between':
      return `${p.col} ${p.not ? 'NOT BETWEEN' : 'BETWEEN'} ${p.lo} AND ${p.hi}`;
    case 'null':
      return `${p.col} IS ${p.not ? 'NOT ' : ''}NULL`;
    case 'distinct':
      return `${p.col} IS ${p.not ? 'NOT ' : ''}DISTINCT FROM ${literal(p.value)}`;
    case 'and':
    case 'or':
      return `(${sql(p.a)}) ${p.k.toUpperCase()} (${sql(p.b)})`;
    case 'not':
      return `NOT (${sql(p.a)})`;
    case 'const':
      return p.v === null ? 'NULL::boolean' : String(p.v);
  }
}

/** SQL's three-valued evaluation of the predicate for one row. */
function evaluate(p: Pred, row: { x: number; y: number }): V {
  const value = (t: Term): number | null =>
    'col' in t ? row[t.col] : 'num' in t ? t.num : 'nul' in t ? null : row[t.plus] + t.n;
  const cmp = (a: number | null, op: string, b: number | null): V => {
    if (a === null || b === null) return null;
    return op === '='
      ? a === b
      : op === '<>'
        ? a !== b
        : op === '<'
          ? a < b
          : op === '<='
            ? a <= b
            : op === '>'
              ? a > b
              : a >= b;
  };
  const not = (v: V): V => (v === null ? null : !v);
  switch (p.k) {
    case 'cmp':
      return cmp(value(p.l), p.op, value(p.r));
    case 'in': {
      const v = row[p.col];
      const hit = p.values.some((w) => w === v);
      const result: V = hit ? true : p.values.includes(null) ? null : false;
      return p.not ? not(result) : result;
    }
    case 'between': {
      const v = row[p.col];
      const result = v >= p.lo && v <= p.hi;
      return p.not ? !result : result;
    }
    case 'null':
      return p.not; // rows here have no NULLs
    case 'distinct': {
      const distinct = p.value === null ? true : row[p.col] !== p.value;
      return p.not ? !distinct : distinct;
    }
    case 'and': {
      const [a, b] = [evaluate(p.a, row), evaluate(p.b, row)];
      return a === false || b === false ? false : a === null || b === null ? null : true;
    }
    case 'or': {
      const [a, b] = [evaluate(p.a, row), evaluate(p.b, row)];
      return a === true || b === true ? true : a === null || b === null ? null : false;
    }
    case 'not':
      return not(evaluate(p.a, row));
    case 'const':
      return p.v;
  }
}

/** Integers -5..5 cover every region constants in -3..3 (plus or minus 1) can tell apart. */
const ROWS = Array.from({ length: 11 * 11 }, (_, i) => ({ x: (i % 11) - 5, y: Math.floor(i / 11) - 5 }));

describe('require_where properties', () => {
  it('never calls restricting a predicate that is true for every row (integer columns, 3-valued logic)', () => {
    fc.assert(
      fc.property(predicate, (p) => {
        const tautology = ROWS.every((row) => evaluate(p, row) === true);
        if (tautology) expect(del(sql(p)), sql(p)).toBe(false);
      }),
      { numRuns: 3000 },
    );
  });

  it('recognises generated tautologies built from any predicate', () => {
    // P OR NOT P is true for every row where P is not NULL; with IS NOT NULL guards it always is.
    const tautologies: fc.Arbitrary<string> = fc.oneof(
      predicate.map((p) => `(${sql(p)}) OR true`),
      predicate.map((p) => `(${sql(p)}) OR 1 = 1`),
      fc.tuple(column, small).map(([c, n]) => `(${c} = ${n}) OR (${c} <> ${n})`),
      fc
        .tuple(column, small, fc.constantFrom('<', '<='))
        .map(([c, n, op]) => `${c} ${op} ${n} OR ${c} ${op === '<' ? '>=' : '>'} ${n}`),
      fc
        .tuple(column, small, small)
        .map(([c, a, b]) => `${c} > ${Math.min(a, b)} OR ${c} <= ${Math.max(a, b)}`),
      fc
        .tuple(column, fc.array(small, { minLength: 1, maxLength: 3 }))
        .map(([c, vs]) => `${c} IN (${vs.join(', ')}) OR ${c} NOT IN (${vs.join(', ')})`),
      column.map((c) => `${c} = ${c}`),
      fc.tuple(column, fc.integer({ min: 0, max: 3 })).map(([c, n]) => `${c} + ${n} >= ${c}`),
    );
    fc.assert(
      fc.property(tautologies, (where) => {
        expect(del(where), where).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('accepts what pins a column to values from outside the row, AND-ed with anything', () => {
    const pins: fc.Arbitrary<string> = fc.oneof(
      fc.tuple(column, small).map(([c, n]) => `${c} = ${n}`),
      fc.tuple(column, fc.integer({ min: 1, max: 9 })).map(([c, n]) => `${c} = $${n}`),
      fc
        .tuple(column, fc.array(small, { minLength: 1, maxLength: 4 }))
        .map(([c, vs]) => `${c} IN (${vs.join(', ')})`),
      fc
        .tuple(column, small, fc.constantFrom('<', '<=', '>', '>=', '<>'))
        .map(([c, n, op]) => `${c} ${op} ${n}`),
      fc
        .tuple(column, small, small)
        .map(([c, a, b]) => `${c} BETWEEN ${Math.min(a, b)} AND ${Math.max(a, b)}`),
      fc.stringMatching(/^[a-z]{1,5}%?$/).map((p) => `name LIKE '${p}'`),
      column.map((c) => `${c} IS NULL`),
    );
    fc.assert(
      fc.property(pins, predicate, (pin, other) => {
        const where = `${pin} AND (${sql(other)})`;
        expect(del(where), where).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
