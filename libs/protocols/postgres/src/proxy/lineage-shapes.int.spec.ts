import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTOMERS_SQL, SECRET, useMaskedSessions } from '../test-support/masked-sessions';

/**
 * Masking by lineage against a real server, property-based: many query shapes over customers.ssn
 * (subqueries, CTEs recursive or materialized, set operations, LATERAL, windows, aggregates with
 * FILTER and ORDER BY, GROUPING SETS, VALUES, whole rows and JSON, casts, cursors, prepared
 * statements, RETURNING, EXPLAIN, planner statistics, errors that quote values), each read in text
 * and binary: no row, notice or error the client receives holds the secret in any recognisable form.
 */

/** Every form in which the secret would still be recognisable: as is, reversed, hex, base64. */
const forms = (secret: string) => {
  const bytes = Buffer.from(secret, 'utf8');
  return [secret, [...secret].reverse().join(''), bytes.toString('hex'), bytes.toString('base64')].map((f) =>
    f.toLowerCase(),
  );
};
const SECRET_FORMS = forms(SECRET);

/** Which forms of the secret `output` holds (any 6 characters of one in a row). */
function found(output: string): string[] {
  const text = output.toLowerCase();
  const compact = text.replace(/[^a-z0-9+/]/g, '');
  return SECRET_FORMS.filter((form) => {
    for (let i = 0; i + 6 <= form.length; i++) {
      const piece = form.slice(i, i + 6);
      if (text.includes(piece) || compact.includes(piece)) return true;
    }
    return false;
  });
}

const cellText = (value: string | Buffer | null | undefined): string =>
  value === null || value === undefined
    ? ''
    : Buffer.isBuffer(value)
      ? `${value.toString('latin1')}|${value.toString('hex')}`
      : String(value);

/** Expressions over a FROM item `c` with columns (id, name, ssn) whose ssn is the masked column's. */
const leaf = fc.constantFrom(
  'c.ssn',
  'ssn',
  '(c).ssn',
  'c::text',
  'row_to_json(c)::text',
  "to_jsonb(c)->>'ssn'",
  "jsonb_build_object('k', c.ssn)::text",
  'ROW(c.ssn, 1)::text',
  'ARRAY[c.ssn]::text',
  'xmlelement(name x, c.ssn)::text',
);
const wrap = fc.constantFrom(
  (x: string) => `upper(${x})`,
  (x: string) => `coalesce(NULL, ${x})`,
  (x: string) => `nullif(${x}, '')`,
  (x: string) => `greatest(${x}, '')`,
  (x: string) => `CASE WHEN c.id > 0 THEN ${x} END`,
  (x: string) => `format('%s', ${x})`,
  (x: string) => `(regexp_match(${x}, '.*'))[1]`,
  (x: string) => `(${x})::varchar(64)`,
  (x: string) => `(${x} COLLATE "C")`,
  (x: string) => `concat(${x}, '')`,
  (x: string) => `(SELECT ${x})`,
  (x: string) => `substring(${x} from 1 for 40)`,
  (x: string) => `(string_to_array(${x}, NULL))::text`,
);
const expression = fc
  .tuple(leaf, fc.array(wrap, { maxLength: 2 }))
  .map(([start, wrappers]) => wrappers.reduce((inner: string, w) => w(inner), start));

/** FROM items named `c` with the columns (id, name, ssn), ssn holding the masked values. */
const source = fc.constantFrom(
  'customers c',
  'customers c TABLESAMPLE SYSTEM (100)',
  '(SELECT * FROM customers) c',
  '(SELECT id, name, ssn FROM customers UNION SELECT 0, $$x$$, $$y$$) c',
  '(SELECT id, name, ssn FROM customers INTERSECT SELECT id, name, ssn FROM customers) c',
  '(SELECT id, name, ssn FROM customers EXCEPT SELECT 0, $$x$$, $$y$$) c',
  'customer_view c',
  // Its rows were stored from a view that has been replaced since.
  'mat_stale c',
  '(VALUES (1, $$n$$, (SELECT ssn FROM customers ORDER BY id LIMIT 1))) c(id, name, ssn)',
  '(SELECT 1 AS id, $$n$$ AS name, u AS ssn FROM unnest(ARRAY(SELECT ssn FROM customers)) u) c',
  '(SELECT 1 AS id, $$n$$ AS name, u.s AS ssn FROM customers cc, LATERAL (SELECT cc.ssn AS s) u) c',
  '(SELECT id, name, ssn FROM customers JOIN (SELECT 1 AS k) z ON true) c',
  '(SELECT * FROM customers NATURAL JOIN (SELECT 1 AS k) z) c',
  '(SELECT DISTINCT ON (id) id, name, ssn FROM customers ORDER BY id) c',
  '(SELECT id, max(name) AS name, max(ssn) AS ssn FROM customers GROUP BY GROUPING SETS ((id), ())) c',
  '(SELECT id, name, first_value(ssn) OVER (PARTITION BY id ORDER BY name) AS ssn FROM customers) c',
  '(SELECT id, name, (SELECT cc.ssn FROM customers cc WHERE cc.id = o.id) AS ssn FROM customers o) c',
  '(SELECT 1 AS id, $$n$$ AS name, s.ssn FROM (SELECT * FROM customers) s(id, name)) c',
  '(SELECT t.* FROM customers t) c',
  '(SELECT (t).* FROM (SELECT cc AS t FROM customers cc) s) c',
  '(SELECT * FROM jsonb_to_record((SELECT to_jsonb(cc) FROM customers cc LIMIT 1)) AS r(id int, name text, ssn text)) c',
  '(SELECT * FROM ROWS FROM (unnest(ARRAY[1]), unnest(ARRAY(SELECT ssn FROM customers))) AS r(id, ssn), LATERAL (SELECT $$n$$ AS name) n) c',
);

/** Ways of putting `from` in a query: plain, CTEs of every kind, a lateral join. */
const withSource = fc.constantFrom(
  (from: string) => ({ prefix: '', from }),
  (from: string) => ({ prefix: `WITH w AS (SELECT * FROM ${from}) `, from: 'w c' }),
  (from: string) => ({ prefix: `WITH w AS MATERIALIZED (SELECT * FROM ${from}) `, from: 'w c' }),
  (from: string) => ({ prefix: `WITH w AS NOT MATERIALIZED (SELECT * FROM ${from}) `, from: 'w c' }),
  (from: string) => ({
    prefix: `WITH RECURSIVE w(id, name, ssn) AS (SELECT * FROM ${from} UNION ALL SELECT id + 1, name, ssn FROM w WHERE id < 3) `,
    from: 'w c',
  }),
  (from: string) => ({
    prefix: `WITH RECURSIVE w(id, name, ssn) AS (SELECT 0, $$a$$, $$b$$ UNION ALL SELECT c.id, c.name, c.ssn FROM w, ${from} WHERE w.name = $$a$$) `,
    from: 'w c',
  }),
  // A CTE that reads one named later, which WITH RECURSIVE lets it do.
  (from: string) => ({
    prefix: `WITH RECURSIVE w AS (SELECT * FROM decoy), decoy AS (SELECT id, name, ssn FROM ${from}) `,
    from: 'w c',
  }),
  (from: string) => ({ prefix: '', from: `(VALUES (1)) o(k), LATERAL (SELECT * FROM ${from}) c` }),
  (from: string) => ({
    prefix: '',
    from: `(VALUES (1)) o(k) LEFT JOIN LATERAL (SELECT * FROM ${from}) c ON true`,
  }),
);

/** The statement around an expression `e` over `c`. */
const statement = fc.constantFrom(
  (p: string, from: string, e: string) => `${p}SELECT ${e} FROM ${from}`,
  (p: string, from: string, e: string) => `${p}SELECT DISTINCT ${e} FROM ${from}`,
  (p: string, from: string, e: string) => `${p}SELECT string_agg(${e}, ',' ORDER BY c.id) FROM ${from}`,
  (p: string, from: string, e: string) =>
    `${p}SELECT array_agg(${e}) FILTER (WHERE c.id > 0)::text FROM ${from}`,
  (p: string, from: string, e: string) =>
    `${p}SELECT jsonb_agg(s)::text FROM (SELECT ${e} AS v FROM ${from}) s`,
  (p: string, from: string, e: string) =>
    `${p}SELECT v, count(*) FROM (SELECT ${e} AS v FROM ${from}) s GROUP BY GROUPING SETS ((v), ())`,
  (p: string, from: string, e: string) => `${p}SELECT lag(${e}) OVER (ORDER BY c.id), ${e} FROM ${from}`,
  (p: string, from: string, e: string) => `${p}SELECT l.x FROM ${from}, LATERAL (SELECT ${e} AS x) l`,
  (p: string, from: string, e: string) => `${p}SELECT x FROM ${from}, LATERAL unnest(ARRAY[${e}]) x`,
  (p: string, from: string, e: string) => `${p}SELECT ${e} FROM ${from} UNION ALL SELECT $$x$$`,
  (p: string, from: string, e: string) => `${p}SELECT * FROM (SELECT ${e} AS v FROM ${from}) s`,
  (p: string, from: string, e: string) => `${p}VALUES ((SELECT ${e} FROM ${from} LIMIT 1))`,
  (p: string, from: string, e: string) => `${p}SELECT (SELECT ${e} FROM ${from} LIMIT 1) AS v`,
  (p: string, from: string, e: string) =>
    `UPDATE scratch SET note = note WHERE id = 7 RETURNING (${p}SELECT ${e} FROM ${from} LIMIT 1)`,
  (p: string, from: string, e: string) =>
    `EXPLAIN (ANALYZE, VERBOSE, COSTS OFF) ${p}SELECT ${e} FROM ${from}`,
  (p: string, from: string, e: string) => `${p}SELECT (${e})::int FROM ${from}`,
  (p: string, from: string, e: string) => `${p}SELECT 1 FROM ${from} WHERE (${e})::int > 0`,
  (p: string, from: string, e: string) => `${p}SELECT ${e} FROM ${from} WHERE (${e})::date IS NOT NULL`,
);

const queries = fc.tuple(statement, withSource, source, expression).map(([build, place, from, e]) => {
  const { prefix, from: placed } = place(from);
  return build(prefix, placed, e);
});

/** Ways to run a query and read what the client gets: text, binary, a cursor, a prepared statement. */
type Runner = 'text' | 'binary' | 'cursor' | 'prepared';

describe('PostgreSQL masking: generated query shapes leak nothing (real server, fast-check)', () => {
  const { onServer, client } = useMaskedSessions();
  let textClient: pg.Client;
  let binaryClient: pg.Client;
  const notices: string[] = [];

  beforeAll(async () => {
    await onServer(`${CUSTOMERS_SQL}
      INSERT INTO customers SELECT i, 'n' || i, '${SECRET}' FROM generate_series(2, 40) i;
      CREATE VIEW customer_view AS SELECT id, name, ssn FROM customers;
      CREATE TABLE scratch (id int, note text);
      INSERT INTO scratch VALUES (7, 'plain');
      CREATE TABLE decoy (id int, name text, ssn text);
      INSERT INTO decoy VALUES (1, 'd', 'clear');
      CREATE FUNCTION "ReadSsn"(i int) RETURNS text LANGUAGE sql AS 'SELECT ssn FROM customers WHERE id = i';
      CREATE FUNCTION ssn_of(i int, j int) RETURNS text LANGUAGE sql AS 'SELECT ssn FROM customers WHERE id = i';
      CREATE OPERATOR ### (leftarg = int, rightarg = int, function = ssn_of);
      CREATE VIEW stale_source AS SELECT id, name, ssn FROM customers;
      CREATE MATERIALIZED VIEW mat_stale AS SELECT * FROM stale_source;
      CREATE OR REPLACE VIEW stale_source AS SELECT id, name, name AS ssn FROM customers;
      ANALYZE customers;`);
    textClient = await client();
    binaryClient = await client();
    for (const c of [textClient, binaryClient]) {
      // The message is not an own enumerable property of an Error: named, so it is searched too.
      c.on('notice', (n) => notices.push(`${n.message}\n${JSON.stringify(n)}`));
      // A generated query that runs long fails instead (an error is no leak unless it quotes one).
      await c.query("SET statement_timeout = '5s'");
    }
  });
  afterAll(async () => {
    await textClient?.end();
    await binaryClient?.end();
  });

  const raw = { getTypeParser: () => (value: string | Buffer) => value } as unknown as pg.CustomTypesConfig;
  let statementCount = 0;

  /** Everything the client receives for `sql` run `how`: rows, or the error. */
  const run = async (sql: string, how: Runner): Promise<string> => {
    const c = how === 'binary' ? binaryClient : textClient;
    const read = async (text: string) => {
      const result = await c.query({
        text,
        rowMode: 'array',
        types: raw,
        binary: how === 'binary',
      } as pg.QueryConfig);
      const rows = result.rows as (string | Buffer | null)[][];
      const byRow = rows.map((row) => row.map(cellText).join('')).join('');
      const byColumn = (rows[0] ?? []).map((_, i) => rows.map((row) => cellText(row[i])).join('')).join('');
      return `${byRow}\n${byColumn}`;
    };
    try {
      if (how === 'cursor') {
        if (sql.startsWith('UPDATE') || sql.startsWith('EXPLAIN')) return await read(sql);
        await c.query('BEGIN');
        try {
          await c.query(`DECLARE cur NO SCROLL CURSOR FOR ${sql}`);
          return await read('FETCH ALL FROM cur');
        } finally {
          await c.query('ROLLBACK');
        }
      }
      if (how === 'prepared') {
        const name = `p${statementCount++}`;
        await c.query(`PREPARE ${name} AS ${sql}`);
        try {
          return await read(`EXECUTE ${name}`);
        } finally {
          await c.query(`DEALLOCATE ${name}`);
        }
      }
      return await read(sql);
    } catch (error) {
      const { message, detail, hint, where } = error as pg.DatabaseError;
      return [message, detail, hint, where].join('\n');
    }
  };

  it('lets no masked value out in any recognisable form, whatever the query shape (text, binary, cursor, prepared)', async () => {
    await fc.assert(
      fc.asyncProperty(
        queries,
        fc.constantFrom<Runner>('text', 'binary', 'cursor', 'prepared'),
        async (sql, how) => {
          notices.length = 0;
          const received = `${await run(sql, how)}\n${notices.join('\n')}`;
          const leaked = found(received);
          if (leaked.length > 0) throw new Error(`${how}: ${sql} leaked ${leaked.join(', ')}: ${received}`);
        },
      ),
      { numRuns: 250 },
    );
  });

  it('lets no masked value out through planner statistics', async () => {
    for (const sql of [
      "select most_common_vals::text from pg_stats where tablename = 'customers' and attname = 'ssn'",
      "select histogram_bounds::text from pg_stats where tablename = 'customers'",
      "select s.most_common_vals::text from pg_catalog.pg_stats s where s.tablename = 'customers'",
      "select (select array_agg(x) from unnest(most_common_vals::text::text[]) x)::text from pg_stats where tablename = 'customers'",
      'select stavalues1::text, stavalues2::text from pg_statistic',
      "select * from pg_stats where tablename = 'customers'",
    ])
      for (const how of ['text', 'binary'] as const) {
        const received = await run(sql, how);
        expect(found(received), `${how}: ${sql}: ${received}`).toEqual([]);
      }
  });
});
