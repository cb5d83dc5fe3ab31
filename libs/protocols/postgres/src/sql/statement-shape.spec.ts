import fc from 'fast-check';
import { loadModule } from 'libpg-query';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { classifySql, clearClassificationCache } from '../sql-classifier';
import { fixtureCatalog, lineageLine } from './lineage/lineage-fixture';
import { LINEAGE_CORPUS } from './lineage/lineage.corpus';
import { analyzeLineage } from './lineage/statement-lineage';
import { clearParseCache } from './parse-tree';
import { analysisKey, clearShapeTemplates, scanLiterals } from './statement-shape';

beforeAll(() => loadModule());
beforeEach(() => {
  clearShapeTemplates();
  clearClassificationCache();
  clearParseCache();
});

/** What the analyses say of `sql` when nothing is cached. */
function uncached(sql: string) {
  clearClassificationCache();
  clearParseCache();
  const classification = classifySql(sql);
  const lineage = analyzeLineage(sql, fixtureCatalog);
  clearClassificationCache();
  clearParseCache();
  return { classification, lineage };
}

/** `sql` with its strippable literals replaced, in order, by `values` (strings and numbers by kind). */
function substitute(sql: string, strings: readonly string[], numbers: readonly string[]): string {
  const scan = scanLiterals(sql);
  if (!scan) return sql;
  let s = 0;
  let n = 0;
  // eslint-disable-next-line no-control-regex -- the shape's markers are control characters
  return scan.shape.replace(/[\u0001-\u0003]/g, (mark) =>
    mark === '\u0001'
      ? `'${(strings[s++ % Math.max(strings.length, 1)] ?? 'x').replace(/'/g, "''")}'`
      : (numbers[n++ % Math.max(numbers.length, 1)] ?? '1'),
  );
}

/** Statements where a constant decides: the two texts share a shape but must not share an analysis. */
const ADVERSARIAL: readonly (readonly [string, string])[] = [
  // require_where: constant-true is no WHERE.
  ['DELETE FROM customers WHERE 1 = 1', 'DELETE FROM customers WHERE 1 = 2'],
  ["UPDATE customers SET name = 'x' WHERE 'a' = 'a'", "UPDATE customers SET name = 'x' WHERE 'a' = 'b'"],
  ["DELETE FROM customers WHERE name LIKE '%'", "DELETE FROM customers WHERE name LIKE 'a%'"],
  [
    'WITH d AS (DELETE FROM customers WHERE 1 = 1 RETURNING id) SELECT * FROM d',
    'WITH d AS (DELETE FROM customers WHERE 1 = 0 RETURNING id) SELECT * FROM d',
  ],
  // Positions name result columns: ORDER BY 2 filters on ssn.
  ['SELECT name, ssn FROM customers ORDER BY 1', 'SELECT name, ssn FROM customers ORDER BY 2'],
  ['SELECT name, ssn FROM customers GROUP BY 1', 'SELECT name, ssn FROM customers GROUP BY 2'],
  ['SELECT DISTINCT ON (1) name, ssn FROM customers', 'SELECT DISTINCT ON (2) name, ssn FROM customers'],
  // Settings that run code.
  [
    "SELECT set_config('work_mem', '1MB', false)",
    "SELECT set_config('session_preload_libraries', 'x', false)",
  ],
  [
    "SELECT set_config('search_path', 'public', false)",
    "SELECT set_config('search_path', 'evil, pg_catalog', false)",
  ],
  ["SET search_path TO 'public'", "SET search_path TO 'evil', 'pg_catalog'"],
  // COPY options say how rows are laid out (masked field by field).
  [
    "COPY (SELECT name, ssn FROM customers) TO STDOUT (FORMAT 'csv')",
    "COPY (SELECT name, ssn FROM customers) TO STDOUT (FORMAT 'text')",
  ],
  ["COPY customers TO STDOUT (DELIMITER ',')", "COPY customers TO STDOUT (DELIMITER '|')"],
  ["COPY customers TO '/tmp/a'", 'COPY customers TO STDOUT'],
  ["EXPLAIN (ANALYZE 'false') DELETE FROM customers", "EXPLAIN (ANALYZE 'true') DELETE FROM customers"],
];

describe('statement shapes', () => {
  it('strips plain strings and numbers and keeps everything else verbatim', () => {
    const scan = scanLiterals(
      `SELECT a1, $1, "x'1", E'\\'', U&'d', B'01', $$'q'$$, 'it''s', 1.5e3, .5 /* '2' */ -- 3\nFROM t`,
    );
    expect(scan?.shape).toBe(
      `SELECT a1, $1, "x'1", E'\\'', U&'d', B'01', $$'q'$$, \u0001, \u0003, \u0003 /* '2' */ -- 3\nFROM t`,
    );
    expect(scan?.literals.map((l) => l.raw)).toEqual(["'it''s'", '1.5e3', '.5']);
    // Numbers PostgreSQL versions read differently (hex, underscores) and junk stay verbatim.
    expect(scanLiterals('SELECT 0x1f, 1_000, 1e, 1..2')).toBeUndefined();
    // Unterminated text is left to the parser.
    expect(scanLiterals("SELECT 'abc")).toBeUndefined();
    expect(scanLiterals('SELECT 1 /* /* */')).toBeUndefined();
  });

  it("counts the parser's byte offsets past non-ASCII text", () => {
    const a = "SELECT name FROM customers WHERE name = 'Zoë' AND id = 7";
    const b = "SELECT name FROM customers WHERE name = 'Ærø' AND id = 8";
    expect(analysisKey(a)).toBe(analysisKey(b));
    expect(analysisKey(a)).not.toContain('Zoë');
  });

  it('gives pgbench select-only texts one key', () => {
    const key = analysisKey('SELECT abalance FROM pgbench_accounts WHERE aid = 12345;');
    expect(key).toBe(analysisKey('SELECT abalance FROM pgbench_accounts WHERE aid = 99;'));
    expect(analysisKey('SELECT abalance FROM pgbench_accounts WHERE aid = -99;')).toBe(
      analysisKey('SELECT abalance FROM pgbench_accounts WHERE aid = -1;'),
    );
    expect(key).not.toBe(analysisKey('SELECT filler FROM pgbench_accounts WHERE aid = 99;'));
  });

  it('keeps a literal the parser did not make a constant where it starts (continued strings)', () => {
    const a = "SELECT 'a'\n'b' AS x FROM customers";
    expect(analysisKey(a)).toBe(analysisKey("SELECT 'zz'\n'b' AS x FROM customers"));
    expect(analysisKey(a)).not.toBe(analysisKey("SELECT 'a'\n'c' AS x FROM customers"));
  });

  it.each(ADVERSARIAL)('a constant that decides is part of the key: %s', (a, b) => {
    const [ua, ub] = [uncached(a), uncached(b)];
    expect(JSON.stringify(ua)).not.toBe(JSON.stringify(ub)); // the case is one where it matters
    // Either order: the second text never gets the first one's analysis.
    for (const [first, second, expected] of [
      [a, b, ub],
      [b, a, ua],
    ] as const) {
      clearShapeTemplates();
      clearClassificationCache();
      classifySql(first);
      expect(analysisKey(first)).not.toBe(analysisKey(second));
      expect(classifySql(second)).toEqual(expected.classification);
    }
  });

  it('for random constants, texts of one key have the uncached analysis of each (lineage corpus)', () => {
    const statements = Object.values(LINEAGE_CORPUS)
      .flat()
      .map(([sql]) => sql)
      .concat(ADVERSARIAL.flat())
      .filter((sql) => scanLiterals(sql) !== undefined);
    expect(statements.length).toBeGreaterThan(60);
    // eslint-disable-next-line no-control-regex -- texts never hold NUL or the shape's markers
    const text = fc.string({ maxLength: 12 }).filter((s) => !/[\u0000-\u0003]/.test(s));
    const number = fc.oneof(
      fc.integer({ min: 0, max: 12 }).map(String),
      fc.integer({ min: 0, max: 2 ** 40 }).map(String),
      fc.double({ min: 0, max: 1e6, noNaN: true }).map((d) => String(d).replace('+', '')),
    );
    let shared = 0;
    fc.assert(
      fc.property(
        fc.constantFrom(...statements),
        fc.array(text, { minLength: 1, maxLength: 4 }),
        fc.array(number, { minLength: 1, maxLength: 4 }),
        (sql, strings, numbers) => {
          const variant = substitute(sql, strings, numbers);
          clearShapeTemplates();
          clearClassificationCache();
          const cached = classifySql(sql); // learns the shape and caches its classification
          expect(cached).toEqual(uncached(sql).classification);
          if (analysisKey(sql) !== analysisKey(variant)) return;
          shared++;
          const expected = uncached(variant);
          expect(classifySql(variant)).toEqual(expected.classification);
          // The lineage a session keeps under the key is the variant's too.
          expect(JSON.stringify(analyzeLineage(sql, fixtureCatalog))).toBe(JSON.stringify(expected.lineage));
        },
      ),
      { numRuns: 600 },
    );
    expect(shared).toBeGreaterThan(100);
  });

  it('leaves the corpus lineage unchanged when every statement is analysed twice through the caches', () => {
    const statements = Object.values(LINEAGE_CORPUS).flat();
    for (const [sql, expected] of statements) {
      classifySql(sql);
      expect(lineageLine(sql)).toBe(expected);
    }
  });
});
