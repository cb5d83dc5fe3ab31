import { Masker } from '@tollgate/masking';
import { maskingRulesFor } from '@tollgate/policy';
import { createTestDatabase, MACHINE_POSTGRES, runPsql } from '@tollgate/testing';
import fc from 'fast-check';
import pg from 'pg';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PolicyGate } from '../test-support/policy-gate';
import { serveSessions } from '../test-support/session-server';
import { refusal, testPolicy } from '../test-support/sql-test-helpers';
import { CancelRegistry } from './cancel-registry';
import { decodeBinaryCopy } from './copy-binary';
import type { StatementOutcome } from './command-gate';
import type { PostgresTargetSettings } from './target-settings';

const policy = testPolicy;

const MASK = policy(`version: 1
masking:
  - name: pii
    columns: [customers.ssn, customers.card, events.ssn, legacy_child.ssn]
    detectors: [email, ssn, credit_card]
`);
const STRICT = policy(`version: 1
masking:
  - name: pii
    columns: [customers.ssn, customers.card, events.ssn, legacy_child.ssn]
    detectors: [email, ssn, credit_card]
    on_derived: deny
    predicates: deny
`);
const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
const connection = { name: 'pg-test', protocol: 'postgres', tags: {} };
const rules = maskingRulesFor(MASK, { subject, connection });
const masker = Masker.compile([{ detectors: rules.detectors, columns: rules.columns }]);

/** Secrets that appear nowhere else, so any trace of them in output is a leak. */
const SSN = ['zq7Xk2Pw9Lm4', 'Hv3Tr8Ny5Bc1'];

/**
 * Masking by lineage against a real server: every way of reading a masked column (casts, functions,
 * whole rows, views, cursors, prepared statements, COPY) in text and binary results, and the writes
 * of masked values denied with nothing changed on the server.
 */
describe('PostgreSQL masking by lineage (real server)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: Awaited<ReturnType<typeof serveSessions>>;
  let gate: PolicyGate;
  const outcomes: StatementOutcome[] = [];
  const cancels = new CancelRegistry();
  let admin: pg.Client;
  /** The masker of the sessions opened next (the policy's, unless a test says otherwise). */
  let sessionMasker = masker;

  const onServer = async (sql: string) => (await admin.query(sql)).rows as Record<string, unknown>[];
  const client = async (options: pg.ClientConfig = {}) => {
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'u', database: 'd', ...options });
    await c.connect();
    return c;
  };
  const psql = (sql: string) =>
    runPsql(server.port, ['-X', '-At', '-c', sql], { env: {} }).then((r) => r.stdout + r.stderr);
  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Client({ ...MACHINE_POSTGRES, database: database.name });
    await admin.connect();
    await admin.query(`
      CREATE TABLE customers (id int PRIMARY KEY, name text, email text, ssn text, card text);
      INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', '${SSN[0]}', '4111111111111111'),
                                   (2, 'Bob', 'bob@example.org', '${SSN[1]}', '5500000000000004');
      CREATE TABLE scratch (id int, note text);
      CREATE VIEW customer_view AS SELECT id, name, ssn AS tax_id FROM customers;
      CREATE SEQUENCE seq;
      CREATE TABLE events (id int, ssn text) PARTITION BY RANGE (id);
      CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (0) TO (10) PARTITION BY RANGE (id);
      CREATE TABLE events_low_a PARTITION OF events_low FOR VALUES FROM (0) TO (5);
      INSERT INTO events VALUES (1, '${SSN[0]}');
      CREATE TABLE legacy (id int, ssn text);
      CREATE TABLE legacy_child (note text) INHERITS (legacy);
      INSERT INTO legacy_child VALUES (2, '${SSN[1]}', 'n');`);
    const target: PostgresTargetSettings = {
      host: MACHINE_POSTGRES.host,
      port: MACHINE_POSTGRES.port,
      database: database.name,
      username: MACHINE_POSTGRES.user,
      tls: { mode: 'disable' },
    };
    server = await serveSessions(() => ({
      target,
      gate,
      masker: sessionMasker,
      cancels,
      onStatement: (o) => outcomes.push(o),
    }));
  });
  afterAll(async () => {
    await server?.close();
    await admin?.end();
    await database?.drop();
  });
  beforeEach(() => {
    gate = new PolicyGate(MASK);
    outcomes.length = 0;
  });

  const leaks = (output: string) => SSN.filter((secret) => output.includes(secret.slice(2, 8)));

  it('masks plain references in place and derived values whole (simple query, psql)', async () => {
    const out = await psql(
      `select id, ssn, upper(ssn), c::text, row_to_json(c), x.s, length(ssn) ` +
        `from customers c, lateral (select c.ssn || '!' as s) x order by id`,
    );
    expect(out.split('\n').slice(0, 2)).toEqual([
      '1|********|********|********||********|0',
      '2|********|********|********||********|0',
    ]);
    expect(leaks(out)).toEqual([]);
    expect(outcomes[0]?.masked).toEqual(expect.arrayContaining(['column:customers.ssn', 'derived']));
  });

  it('masks binary results of the extended protocol', async () => {
    const c = await client({ binary: true } as pg.ClientConfig);
    try {
      const result = await c.query({
        text: 'select ssn, length(ssn) as n, ssn::bytea as b, c as whole, name from customers c where id = $1',
        values: [1],
      });
      expect(result.rows).toEqual([{ ssn: '********', n: null, b: null, whole: null, name: 'Ada' }]);
    } finally {
      await c.end();
    }
  });

  it('traces views, CTEs, set operations, prepared statements and cursors', async () => {
    const out = await psql(
      [
        'select tax_id from customer_view order by id',
        'with s as (select ssn from customers) select ssn from s union all select name from customers',
        'prepare p as select card from customers where id = 1',
        'execute p',
        'begin',
        'declare cur cursor for select reverse(ssn) from customers',
        'fetch 1 from cur',
        'commit',
      ].join('; '),
    );
    expect(leaks(out)).toEqual([]);
    expect(out).not.toMatch(/4111|5500/);
    expect(out.split('\n').filter(Boolean)).toEqual(
      expect.arrayContaining(['********', 'PREPARE', 'BEGIN', 'DECLARE CURSOR', 'COMMIT']),
    );
  });

  it('masks COPY TO STDOUT by lineage, in text and csv', async () => {
    const text = await psql('copy (select id, ssn, upper(ssn), email from customers order by id) to stdout');
    expect(text).toBe('1\t********\t********\ta***@***.com\n2\t********\t********\tb***@***.org\n');
    const csv = await psql("copy customers to stdout with (format csv, header, delimiter ';')");
    expect(csv.split('\n').slice(0, 2)).toEqual([
      'id;name;email;ssn;card',
      '1;Ada;a***@***.com;********;********',
    ]);
  });

  it('masks binary COPY TO STDOUT: masked values and what the detectors find become NULL', async () => {
    const file = join(tmpdir(), `tollgate-copy-binary-${process.pid}.bin`);
    try {
      const out = await psql(
        `\\copy (select id, name, ssn, upper(ssn), email from customers order by id) to '${file}' with (format binary)`,
      );
      expect(out).toBe('COPY 2\n');
      const bytes = readFileSync(file);
      expect(leaks(bytes.toString('latin1'))).toEqual([]);
      const rows = decodeBinaryCopy(bytes)?.map((row) => row.map((v) => v?.toString('latin1') ?? null));
      expect(rows).toEqual([
        ['\0\0\0\u0001', 'Ada', null, null, null],
        ['\0\0\0\u0002', 'Bob', null, null, null],
      ]);
      expect(outcomes.at(-1)?.masked).toEqual(expect.arrayContaining(['column', 'derived', 'email']));
    } finally {
      rmSync(file, { force: true });
    }
  });

  it('relays rows undecoded only when nothing in them can be masked (column rules, no detectors)', async () => {
    // Without detectors, a result whose every column lineage and the rules by name leave clear
    // passes without being decoded; anything else is still masked, statement by statement.
    sessionMasker = Masker.compile([{ detectors: [], columns: ['customers.ssn', 'customer_view.name'] }]);
    try {
      const out = await psql(
        'select id, name, email from customers order by id; select ssn, upper(ssn) from customers order by id; ' +
          'select name from customer_view order by id; select id, name from customers order by id',
      );
      expect(out.split('\n')).toEqual([
        '1|Ada|ada@example.com',
        '2|Bob|bob@example.org',
        '********|********',
        '********|********',
        '***',
        '***',
        '1|Ada',
        '2|Bob',
        '',
      ]);
      const c = await client({ binary: true } as pg.ClientConfig);
      try {
        const result = await c.query({ text: 'select name, ssn from customers where id = $1', values: [2] });
        expect(result.rows).toEqual([{ name: 'Bob', ssn: '********' }]);
      } finally {
        await c.end();
      }
    } finally {
      sessionMasker = masker;
    }
  });

  it('treats what it cannot trace as derived: a view made in an open transaction, a user function', async () => {
    const c = await client();
    try {
      await c.query('begin');
      await c.query('create temp view tv as select ssn from customers');
      expect((await c.query('select * from tv order by 1')).rows).toEqual([
        { ssn: '********' },
        { ssn: '********' },
      ]);
      await c.query('rollback');
      await onServer("create function pass(x text) returns text language sql as 'select x'");
      expect((await c.query('select pass(name) as v from customers where id = 1')).rows).toEqual([
        { v: '********' },
      ]);
    } finally {
      await c.end();
    }
  });

  it('treats a function or an operator defined on the server as untraced, whatever its name', async () => {
    await onServer(`
      create function "ReadSsn"(i int) returns text language sql as 'select ssn from customers where id = i';
      create function ssn_of(i int, j int) returns text language sql as 'select ssn from customers where id = i';
      create operator ### (leftarg = int, rightarg = int, function = ssn_of);`);
    const c = await client();
    try {
      // The bodies read customers.ssn: what they return is masked whole.
      for (const sql of [
        'select "ReadSsn"(1) as v',
        'select public."ReadSsn"(id) as v from customers where id = 2',
        'select 1 ### 0 as v',
        'select 2 operator(public.###) 0 as v',
      ])
        expect((await c.query(sql)).rows, sql).toEqual([{ v: '********' }]);
      // Built-in operators, and those of extensions, compute from their operands as before.
      await onServer('create extension if not exists hstore');
      expect(
        (
          await c.query(
            `select 1 + 2 as v, name = name as w, 'a=>1'::hstore -> 'a' as x from customers where id = 1`,
          )
        ).rows,
      ).toEqual([{ v: 3, w: true, x: '1' }]);
    } finally {
      await c.end();
    }
  });

  it('masks a materialized view over a view whole: the view may have been replaced since its rows were stored', async () => {
    await onServer(`
      create view mat_source as select id, ssn as x from customers;
      create materialized view mat_over_view as select id, x from mat_source;
      create materialized view mat_over_table as select id, ssn as x from customers;`);
    const c = await client();
    try {
      // The session replaces the view: the stored rows still hold ssn, the definition now says name.
      await c.query('create or replace view mat_source as select id, name as x from customers');
      expect((await c.query('select x from mat_over_view order by id')).rows).toEqual([
        { x: '********' },
        { x: '********' },
      ]);
      // Every column of it is masked whole (an int reads 0).
      const all = (await c.query('select * from mat_over_view order by id')).rows;
      expect(all).toEqual([
        { id: 0, x: '********' },
        { id: 0, x: '********' },
      ]);
      // Over tables only, a materialized view is traced through its query as before.
      expect((await c.query('select id, x from mat_over_table order by id')).rows).toEqual([
        { id: 1, x: '********' },
        { id: 2, x: '********' },
      ]);
    } finally {
      await c.end();
      await onServer('drop materialized view mat_over_view, mat_over_table; drop view mat_source');
    }
  });

  it('denies writes of masked values anywhere; nothing changes on the server', async () => {
    await onServer(
      `create or replace view setting_view as select set_config('my.leak', ssn, false) as s from customers`,
    );
    const c = await client();
    try {
      for (const sql of [
        'insert into scratch select id, ssn from customers',
        'insert into scratch (note) values ((select upper(card) from customers limit 1))',
        'update scratch set note = c.ssn from customers c',
        'create table leak as select ssn from customers',
        'create temp table leak as select * from customers',
        'select ssn into leak from customers',
        "copy (select ssn from customers) to '/tmp/tollgate-lineage-leak'",
        "select set_config('my.leak', ssn, false) from customers",
        "select setval('seq', length(ssn)) from customers",
        "select pg_notify('leak', card) from customers",
        'alter table customers add column leak text generated always as (ssn) stored',
        'with w as (insert into scratch (note) select ssn from customers returning 1) select * from w',
        // A view's query runs when it is read: set_config stores the value for current_setting.
        'select * from setting_view',
      ]) {
        const error = await refusal(c, sql);
        expect(error?.code, sql).toBe('42501');
        expect(error?.message, sql).toMatch(/masking rule "pii" does not allow/);
      }
      expect(await onServer('select count(*)::int as n from scratch')).toEqual([{ n: 0 }]);
      expect(await onServer("select to_regclass('leak') as t")).toEqual([{ t: null }]);
      expect(await onServer("select current_setting('my.leak', true) as s")).toEqual([{ s: null }]);
      expect((await c.query("select current_setting('my.leak', true) as s")).rows).toEqual([{ s: null }]);
      expect(await onServer('select last_value::int as v, is_called from seq')).toEqual([
        { v: 1, is_called: false },
      ]);
      expect(
        await onServer(
          "select count(*)::int as n from information_schema.columns where column_name = 'leak'",
        ),
      ).toEqual([{ n: 0 }]);
      // Writing values that are not masked is fine.
      await c.query('insert into scratch select id, name from customers');
      expect(await onServer('select count(*)::int as n from scratch')).toEqual([{ n: 2 }]);
      await onServer('delete from scratch');
    } finally {
      await c.end();
    }
  });

  it('denies renaming a masked column, its table, its schema or moving the table out of its name; nothing changes', async () => {
    const c = await client();
    try {
      for (const sql of [
        'alter table customers rename column ssn to s2',
        'alter table customers rename ssn to s2',
        'alter table customers rename to customers2',
        'alter table if exists public.customers rename column card to c2',
        'create schema if not exists tollgate_elsewhere; alter table customers set schema tollgate_elsewhere',
        'alter schema public rename to public2',
        'alter table events detach partition events_low',
        'alter table legacy_child no inherit legacy',
      ]) {
        const error = await refusal(c, sql);
        expect(error?.code, sql).toBe('42501');
        expect(error?.message, sql).toMatch(
          /or moves it out of its name, which masking rule "pii" does not allow/,
        );
      }
      expect(
        await onServer(
          "select column_name from information_schema.columns where table_schema = 'public' and table_name = 'customers' and column_name in ('ssn', 'card') order by 1",
        ),
      ).toEqual([{ column_name: 'card' }, { column_name: 'ssn' }]);
      // The masked column still reads masked under its own name; renaming what is not masked is fine.
      expect((await c.query('select ssn from customers order by id limit 1')).rows).toEqual([
        { ssn: '********' },
      ]);
      await c.query('alter table scratch rename column note to remark');
      await c.query('alter table scratch rename column remark to note');
    } finally {
      await c.end();
    }
  });

  it('under on_derived: deny and predicates: deny, denies derived outputs and filters on masked columns', async () => {
    gate = new PolicyGate(STRICT);
    const c = await client();
    try {
      expect((await c.query('select ssn from customers order by id')).rows).toEqual([
        { ssn: '********' },
        { ssn: '********' },
      ]);
      const derived = await refusal(c, 'select upper(ssn) from customers');
      expect(derived?.message).toMatch(
        /other than as the column itself, denied by masking rule "pii" \(on_derived: deny\)/,
      );
      const filtered = await refusal(c, "select id from customers where ssn like 'zq%'");
      expect(filtered?.message).toMatch(
        /filters, joins, groups or orders on values of masked column public.customers.ssn/,
      );
      await onServer(`create or replace view filtered_view as select id from customers where ssn like 'zq%'`);
      await c.query('create index customers_ssn_idx on customers (ssn)');
      // Plain EXPLAIN runs nothing, but estimates rows from the column's statistics: a prefix that
      // matches is estimated at the rows it matches, one that does not at 1.
      await onServer('analyze customers');
      for (const sql of [
        "explain select id from customers where ssn like 'zq%'",
        "explain (format json) select 1 from customer_view where tax_id < 'm'",
        // A view that filters on it: which rows come back tells as much as the WHERE would.
        'select count(*) from filtered_view',
        // A partial index's row count (pg_class.reltuples) is how many rows its WHERE selects.
        "create index partial_ssn on customers (id) where ssn like 'zq%'",
        "create statistics ssn_prefix on (ssn like 'zq%'), id from customers",
        // So is an exclusion constraint's, and a CHECK fails or not by the rows it selects.
        "alter table customers add constraint partial_ex exclude using btree (id with =) where (ssn like 'zq%')",
        "alter table customers add constraint ssn_prefix check (ssn not like 'zq%') not valid",
        // CLUSTER puts the rows in the index's order: a plain SELECT then returns them by ssn.
        'cluster customers using customers_ssn_idx',
        'alter table customers cluster on customers_ssn_idx',
      ]) {
        const estimated = await refusal(c, sql);
        expect(estimated?.message, sql).toMatch(
          /filters, joins, groups or orders on values of masked column public.customers.ssn/,
        );
      }
      expect((await c.query("explain select ssn from customers where name like 'A%'")).rows).not.toEqual([]);
      expect(await onServer("select to_regclass('partial_ssn') as i")).toEqual([{ i: null }]);
      await c.query('drop index customers_ssn_idx');
      expect(
        await onServer(
          "select count(*)::int as n from pg_constraint where conname in ('partial_ex', 'ssn_prefix')",
        ),
      ).toEqual([{ n: 0 }]);
      const untraced = await refusal(c, 'select pass(name) from customers');
      expect(untraced?.message).toMatch(/origin cannot be traced \(function pass\)/);
    } finally {
      await c.end();
    }
    gate = new PolicyGate(MASK);
    const lenient = await client();
    try {
      expect((await lenient.query("select id from customers where ssn like 'zq%'")).rows).toEqual([
        { id: 1 },
      ]);
    } finally {
      await lenient.end();
    }
  });

  it('decides texts that differ only in constants alike, and apart where a constant decides (shape cache)', async () => {
    gate = new PolicyGate(STRICT);
    const c = await client();
    try {
      // One shape, many constants (as pgbench -M simple sends): each masked, none parsed twice.
      for (const id of [1, 2, 1, 2]) {
        const { rows } = await c.query(`select name, ssn from customers where id = ${id}`);
        expect(rows).toEqual([{ name: id === 1 ? 'Ada' : 'Bob', ssn: '********' }]);
      }
      // ORDER BY 1 orders by name; ORDER BY 2 by the masked column, which predicates: deny refuses.
      expect((await c.query('select name, ssn from customers order by 1')).rows).toHaveLength(2);
      const ordered = await refusal(c, 'select name, ssn from customers order by 2');
      expect(ordered?.message).toMatch(/orders on values of masked column public.customers.ssn/);
      expect((await c.query('select name, ssn from customers order by 1')).rows).toHaveLength(2);
    } finally {
      await c.end();
    }
  });

  it('applies a rule on a partitioned or parent table to its partitions and children, and back', async () => {
    // The rule names events (the partitioned parent) and legacy_child (an inheritance child).
    const out = await psql(
      'select ssn, upper(ssn) from events_low_a; select ssn from events_low; select ssn from events; ' +
        'select ssn, ssn || ssn from legacy; select ssn from only legacy; ' +
        'copy (select * from events_low_a) to stdout; copy events_low_a to stdout with (format csv)',
    );
    expect(out).toBe('********|********\n********\n********\n********|********\n1\t********\n1,********\n');
    expect(leaks(out)).toEqual([]);
    gate = new PolicyGate(STRICT);
    const c = await client();
    try {
      const stored = await refusal(c, 'insert into scratch select id, ssn from events_low_a');
      expect(stored?.message).toMatch(/masked values may not be written/);
      expect((await onServer('select count(*)::int as n from scratch'))[0]).toEqual({ n: 0 });
      const filtered = await refusal(c, "select id from legacy where ssn like 'Hv%'");
      expect(filtered?.message).toMatch(/filters, joins, groups or orders on values of masked column/);
    } finally {
      await c.end();
    }
  });

  it('lets no masked value out in any recognisable form, whatever the query does with it (fast-check)', async () => {
    const textClient = await client();
    const binaryClient = await client({ binary: true } as pg.ClientConfig);
    // Raw values: strings as the server wrote them, binary values as bytes.
    const raw = { getTypeParser: () => (value: string | Buffer) => value } as unknown as pg.CustomTypesConfig;
    const wrap = fc.constantFrom(
      (x: string) => `upper(${x})`,
      (x: string) => `lower(${x})`,
      (x: string) => `reverse(${x})`,
      (x: string) => `encode(convert_to(${x}, 'UTF8'), 'hex')`,
      (x: string) => `encode(convert_to(${x}, 'UTF8'), 'base64')`,
      (x: string) => `(${x})::bytea::text`,
      (x: string) => `substr(${x}, 2, 7)`,
      (x: string) => `${x} || '!'`,
      (x: string) => `concat_ws(',', name, ${x})`,
      (x: string) => `format('%s', ${x})`,
      (x: string) => `quote_literal(${x})`,
      (x: string) => `regexp_replace(${x}, '(.)', '\\1 ', 'g')`,
      (x: string) => `to_json(${x})::text`,
      (x: string) => `array_to_string(ARRAY[${x}, 'a'], ',')`,
      (x: string) => `translate(${x}, 'abc', 'xyz')`,
      (x: string) => `coalesce(${x}, name)`,
      (x: string) => `CASE WHEN id > 0 THEN ${x} END`,
      (x: string) => `(SELECT ${x})`,
    );
    const leaf = fc.constantFrom(
      'ssn',
      'c.ssn',
      'c::text',
      'row_to_json(c)::text',
      'name || ssn',
      '(c).ssn',
      'card',
    );
    const expression = fc
      .tuple(leaf, fc.array(wrap, { maxLength: 3 }))
      .map(([start, wrappers]) => wrappers.reduce((inner: string, w) => w(inner), start as string));
    const shape = fc.constantFrom(
      (e: string) => `SELECT ${e} FROM customers c WHERE id > $1`,
      (e: string) => `SELECT ${e} FROM (SELECT * FROM customers) c WHERE id > $1`,
      (e: string) => `WITH c AS (SELECT * FROM customers) SELECT ${e} FROM c WHERE id > $1`,
      (e: string) =>
        `SELECT v FROM (SELECT ${e} AS v, id FROM customers c) s WHERE id > $1 UNION ALL SELECT 'x'`,
      (e: string) => `SELECT l.v FROM customers c, LATERAL (SELECT ${e} AS v) l WHERE id > $1`,
      (e: string) => `SELECT string_agg(${e}, '') FROM customers c WHERE id > $1`,
      (e: string) => `SELECT regexp_split_to_table(${e}, '') FROM customers c WHERE id > $1`,
      (e: string) =>
        `SELECT substr(${e}, 1, 4), substr(${e}, 5, 4), substr(${e}, 9) FROM customers c WHERE id > $1`,
      (e: string) =>
        `SELECT * FROM customer_view c, LATERAL (SELECT ${e.replace(/\bssn\b/g, 'tax_id').replace(/\bcard\b/g, 'tax_id')}) l WHERE id > $1`,
    );
    /** Every form in which a secret would still be recognisable: as is, case-folded, reversed, hex, base64. */
    const forms = (secret: string) => {
      const bytes = Buffer.from(secret, 'utf8');
      return [secret, [...secret].reverse().join(''), bytes.toString('hex'), bytes.toString('base64')].map(
        (f) => f.toLowerCase(),
      );
    };
    const secrets = [...SSN, '4111111111111111', '5500000000000004'];
    const found = (output: string) => {
      const text = output.toLowerCase();
      const compact = text.replace(/[^a-z0-9+/]/g, '');
      return secrets.flatMap((secret) =>
        forms(secret).filter((form) => {
          for (let i = 0; i + 6 <= form.length; i++) {
            const piece = form.slice(i, i + 6);
            if (text.includes(piece) || compact.includes(piece)) return true;
          }
          return false;
        }),
      );
    };
    const cellText = (value: string | Buffer | null | undefined) =>
      value === null || value === undefined
        ? ''
        : Buffer.isBuffer(value)
          ? `${value.toString('latin1')}|${value.toString('hex')}`
          : String(value);
    try {
      await fc.assert(
        fc.asyncProperty(shape, expression, fc.boolean(), async (build, e, binary) => {
          const sql = build(e);
          const c = binary ? binaryClient : textClient;
          // Some generated expressions are not valid for the server (a JSON text with backslashes
          // cast to bytea): an error is no leak as long as its text does not carry the value.
          const result = await c
            .query({ text: sql, values: [0], rowMode: 'array', types: raw })
            .catch((error: Error) => error);
          if (result instanceof Error) {
            const inError = found(result.message);
            if (inError.length > 0)
              throw new Error(`${sql}: the error leaked ${inError.join(', ')}: ${result.message}`);
            return;
          }
          const rows = result.rows as (string | Buffer | null)[][];
          // Split across rows or columns: read row by row and column by column.
          const byRow = rows.map((row) => row.map(cellText).join('')).join('');
          const byColumn = (rows[0] ?? [])
            .map((_, i) => rows.map((row) => cellText(row[i])).join(''))
            .join('');
          const leaked = [...found(byRow), ...found(byColumn)];
          if (leaked.length > 0)
            throw new Error(`${sql} (${binary ? 'binary' : 'text'}) leaked ${leaked.join(', ')}: ${byRow}`);
        }),
        { numRuns: 80 },
      );
    } finally {
      await textClient.end();
      await binaryClient.end();
    }
  });

  it('lets no masked value out through built-ins that read a table, a cursor or another session by name', async () => {
    // Another session's last statement quotes a secret (as an application's UPDATE would).
    await onServer(`select '${SSN[0]}' as quoted`);
    const c = await client();
    try {
      await c.query('begin');
      await c.query('declare cur cursor for select ssn, card from customers');
      for (const sql of [
        "select table_to_xml('customers', true, false, '') as x",
        "select pg_catalog.table_to_xml_and_xmlschema('public.customers'::regclass, false, true, '') as x",
        "select schema_to_xml('public', true, false, '') as x",
        "select database_to_xml(true, false, '') as x",
        "select cursor_to_xml('cur', 10, true, false, '') as x",
        'select string_agg(query, $$;$$) as x from pg_stat_activity',
        'select string_agg(s.query, $$;$$) as x from pg_stat_get_activity(null) s',
      ]) {
        const { rows } = await c.query(sql);
        expect(rows, sql).toEqual([{ x: '********' }]);
      }
      await c.query('commit');
      // The other columns of pg_stat_activity stay facts: only the SQL text is masked.
      const own = await c.query<{ pid: number; query: string }>(
        'select pid, query from pg_stat_activity where pid = pg_backend_pid()',
      );
      expect(own.rows.map((row) => [row.pid > 0, row.query])).toEqual([[true, '********']]);
    } finally {
      await c.end();
    }
  });

  it("masks a foreign table's columns whole: its rows are another table's (postgres_fdw back to customers)", async () => {
    await onServer(`
      create extension if not exists postgres_fdw;
      create server tollgate_loop foreign data wrapper postgres_fdw
        options (host '${MACHINE_POSTGRES.host}', port '${MACHINE_POSTGRES.port}', dbname '${database.name}');
      create user mapping for current_user server tollgate_loop options (user '${MACHINE_POSTGRES.user}');
      create foreign table far_customers (id int, x text options (column_name 'ssn'))
        server tollgate_loop options (table_name 'customers');`);
    const out = await psql(
      'select id, x from far_customers order by id; select * from far_customers order by id',
    );
    expect(out).toBe('0|********\n0|********\n0|********\n0|********\n');
    expect(leaks(out)).toEqual([]);
  });

  it('denies ALTER INDEX ... RENAME TO on a masked table (it renames tables too); nothing changes', async () => {
    const c = await client();
    try {
      for (const sql of [
        'alter index customers rename to c2',
        'alter index if exists public.customers rename to c2',
      ]) {
        const error = await refusal(c, sql);
        expect(error?.code, sql).toBe('42501');
        expect(error?.message, sql).toMatch(
          /or moves it out of its name, which masking rule "pii" does not allow/,
        );
      }
      expect(await onServer("select to_regclass('public.customers') is not null as t")).toEqual([
        { t: true },
      ]);
      // A real index is renamed as before.
      await c.query('alter index customers_pkey rename to customers_pk');
      await c.query('alter index customers_pk rename to customers_pkey');
    } finally {
      await c.end();
    }
  });

  it('under predicates: deny, denies row counts that a set-returning function decides from a masked value', async () => {
    gate = new PolicyGate(STRICT);
    const c = await client();
    try {
      for (const sql of [
        // The count is the code of the first character: the value, one character per query.
        'select count(*) as n from (select generate_series(1, ascii(substr(ssn, 1, 1))) from customers where id = 1) x',
        'select count(*) as n from customers, generate_series(1, ascii(ssn))',
        'select count(*) as n from (select unnest(string_to_array(ssn, null)) from customers) x',
        "select count(*) as n from customers c, regexp_matches(c.ssn, 'z', 'g')",
        'select count(*) as n from customers c, jsonb_array_elements(to_jsonb(string_to_array(c.ssn, null)))',
      ]) {
        const error = await refusal(c, sql);
        expect(error?.message, sql).toMatch(
          /filters, joins, groups or orders on values of masked column public.customers.ssn/,
        );
      }
      // Set-returning functions over what is not masked are fine.
      expect(
        (await c.query('select count(*)::int as n from customers, generate_series(1, id)')).rows,
      ).toEqual([{ n: 3 }]);
    } finally {
      await c.end();
    }
  });

  it("withholds the server's own error text for statements that read masked columns (it can quote values)", async () => {
    const c = await client();
    try {
      const cast = await refusal(c, 'select ssn::int from customers');
      expect(cast?.code).toBe('22P02');
      expect(cast?.message).toBe(
        "the server's message is withheld because the statement reads masked columns or values Tollgate cannot trace (SQLSTATE 22P02 invalid_text_representation)",
      );
      expect(leaks(JSON.stringify(outcomes))).toEqual([]);
      // The same session goes on, and errors of statements that read nothing masked are the server's.
      const plain = await refusal(c, 'select name::int from customers where id = 1');
      expect(plain?.message).toBe('invalid input syntax for type integer: "Ada"');
    } finally {
      await c.end();
    }
  });

  it("withholds the server's words for statements that change a table holding a masked column (they quote its rows)", async () => {
    const c = await client();
    try {
      await onServer('create table tollgate_keys (x text primary key)');
      for (const sql of [
        'create index on customers ((ssn::int))',
        'create index on customers (id) where ssn::int > 0',
        'alter table customers add constraint must_be_int check (ssn::int > 0)',
        'alter table customers add foreign key (ssn) references tollgate_keys (x)',
      ]) {
        const error = await refusal(c, sql);
        expect(error?.message ?? 'it ran', sql).toMatch(/^the server's message is withheld because/);
        expect(leaks(JSON.stringify(error)), sql).toEqual([]);
      }
      // A CHECK made NOT VALID fails later on an UPDATE of another column, quoting the row's ssn.
      await c.query('alter table customers add constraint later check (ssn::int > 0) not valid');
      try {
        const update = await refusal(c, "update customers set name = 'Ada' where id = 1");
        expect(update?.code).toBe('22P02');
        expect(update?.message).toMatch(/^the server's message is withheld because/);
        expect(leaks(JSON.stringify(update))).toEqual([]);
      } finally {
        await c.query('alter table customers drop constraint later');
      }
      // Errors of statements on tables without masked columns are the server's.
      await c.query('create index scratch_note_int on scratch ((note::int))');
      const own = await refusal(c, "insert into scratch values (1, 'x')");
      expect(own?.message).toBe('invalid input syntax for type integer: "x"');
      await c.query('drop index scratch_note_int');
      await onServer('delete from scratch; drop table tollgate_keys');
    } finally {
      await c.end();
    }
  });

  it('does not run a statement prepared before the catalog changed on its old lineage (the server plans it again)', async () => {
    const c = await client();
    try {
      await c.query('create view shifting as select id, name as x from customers');
      await c.query('prepare before_change as select x from shifting order by id');
      // A named statement of the extended protocol, as a driver's statement cache holds it.
      const cached = { name: 'cached_shifting', text: 'select x from shifting where id = $1', values: [1] };
      expect((await c.query(cached)).rows).toEqual([{ x: 'Ada' }]);
      await c.query('create or replace view shifting as select id, ssn as x from customers');
      const sql = await refusal(c, 'execute before_change');
      expect(sql?.message).toMatch(/prepared before the catalog changed/);
      // A Bind of a statement parsed earlier is decided again on its text: traced anew, masked.
      expect((await c.query(cached)).rows).toEqual([{ x: '********' }]);
      // Prepared again after the change, it is traced anew.
      await c.query('deallocate before_change');
      await c.query('prepare after_change as select x from shifting order by id');
      expect((await c.query('execute after_change')).rows).toEqual([{ x: '********' }, { x: '********' }]);
    } finally {
      await c.end();
      await onServer('drop view shifting');
    }
  });

  it("sees another session's catalog change: a view replaced under a session's cached facts reads masked", async () => {
    const a = await client();
    const b = await client();
    const names = 'select x from shifting_elsewhere order by id';
    try {
      await a.query('create view shifting_elsewhere as select id, name as x from customers');
      // b reads the view's facts, caches them, prepares on them, and keeps a driver-side statement.
      expect((await b.query(names)).rows).toEqual([{ x: 'Ada' }, { x: 'Bob' }]);
      await b.query(`prepare b_before as ${names}`);
      const cached = {
        name: 'b_cached',
        text: 'select x from shifting_elsewhere where id = $1',
        values: [1],
      };
      expect((await b.query(cached)).rows).toEqual([{ x: 'Ada' }]);

      // Another session (the same user's second psql, or a colleague's) replaces the view.
      await a.query('create or replace view shifting_elsewhere as select id, ssn as x from customers');
      const after = await b.query(names);
      expect(after.rows).toEqual([{ x: '********' }, { x: '********' }]);
      expect((await b.query(cached)).rows).toEqual([{ x: '********' }]);
      expect((await refusal(b, 'execute b_before'))?.message).toMatch(
        /prepared before another session changed the catalog/,
      );
      expect(leaks(JSON.stringify(outcomes))).toEqual([]);

      // While a change is on its way (not committed), no fact can be trusted: b's results are
      // masked whole (a column it reads may be what the change makes of it once committed), then
      // read anew once the change is committed or rolled back.
      await a.query('begin');
      await a.query(
        'create or replace view shifting_elsewhere as select id, ssn as x, name as y from customers',
      );
      expect((await b.query('select name from customers where id = 1')).rows).toEqual([{ name: '********' }]);
      await a.query('rollback');
      expect((await b.query('select name from customers where id = 1')).rows).toEqual([{ name: 'Ada' }]);
      expect((await b.query(names)).rows).toEqual([{ x: '********' }, { x: '********' }]);

      // A session no column rule applies to (an administrator's) traces no lineage of its own, and
      // still tells the others of the change it makes.
      sessionMasker = Masker.compile([]);
      const unmasked = await client();
      sessionMasker = masker;
      await a.query('create or replace view shifting_elsewhere as select id, name as x from customers');
      expect((await b.query(names)).rows).toEqual([{ x: 'Ada' }, { x: 'Bob' }]);
      await unmasked.query('create or replace view shifting_elsewhere as select id, ssn as x from customers');
      expect((await unmasked.query(names)).rows).toEqual([{ x: SSN[0] }, { x: SSN[1] }]);
      await unmasked.end();
      expect((await b.query(names)).rows).toEqual([{ x: '********' }, { x: '********' }]);

      // Code that policy lets run may change the catalog where no analysis sees it: a DO block.
      gate = new PolicyGate(
        policy(`version: 1
guardrails:
  - name: blocks
    allow: { opaque: [DO] }
masking:
  - name: pii
    columns: [customers.ssn, customers.card, events.ssn, legacy_child.ssn]
`),
      );
      await a.query('create or replace view shifting_elsewhere as select id, name as x from customers');
      expect((await b.query(names)).rows).toEqual([{ x: 'Ada' }, { x: 'Bob' }]);
      const coder = await client();
      await coder.query(
        `do $$ begin execute 'create or replace view shifting_elsewhere as select id, ssn as x from customers'; end $$`,
      );
      await coder.end();
      expect((await b.query(names)).rows).toEqual([{ x: '********' }, { x: '********' }]);

      // A temporary object is the session's own: creating one changes nothing another session reads.
      await a.query('begin');
      await a.query('create temp table scratch_a (v text)');
      expect((await b.query('select name from customers where id = 1')).rows).toEqual([{ name: 'Ada' }]);
      await a.query('commit');
    } finally {
      await a.end();
      await b.end();
      await onServer('drop view shifting_elsewhere');
    }
  });

  it('lets content detectors see inside composites, arrays and JSON, in text and binary', async () => {
    const sql =
      "select row(name, email) as r, array[email] as a, json_build_object('e', email) as j, " +
      "'912-34-5678' as ssn9, 'order 4111 1111 1111 1111' as card from customers where id = ";
    const text = await psql(`${sql}1`);
    expect(text).toBe(
      '(Ada,a***@***.com)|{a***@***.com}|{"e" : "a***@***.com"}|***-**-5678|order **** **** **** 1111\n',
    );
    const c = await client({ binary: true } as pg.ClientConfig);
    try {
      const row = (await c.query({ text: `${sql}$1`, values: [1] })).rows[0] as Record<string, unknown>;
      expect(row).toMatchObject({ r: null, a: null, ssn9: '***-**-5678' });
    } finally {
      await c.end();
    }
  });

  it('masks whole what it cannot trace while the catalog cannot be read, and the session goes on', async () => {
    const c = await client();
    try {
      const first = await c.query('select name, ssn from customers where id = 1');
      expect(first.rows).toEqual([{ name: 'Ada', ssn: '********' }]);
      // The session's catalog connection dies: the view below has not been read yet.
      await onServer(
        `select pg_terminate_backend(pid) from pg_stat_activity ` +
          `where application_name = 'tollgate-catalog' and datname = current_database()`,
      );
      // The read fails (the view's columns are then untraced: masked whole), or a new catalog
      // connection reads it; either way the statement is answered with nothing in the clear.
      const blind = (await c.query('select name, tax_id from customer_view where id = 1')).rows as {
        name: string;
        tax_id: string;
      }[];
      expect(blind.map((row) => row.tax_id)).toEqual(['********']);
      expect(['Ada', '********']).toContain(blind[0]?.name);
      // The session goes on: what was read before still holds, and the catalog is read anew.
      const again = await c.query('select name, ssn from customers where id = 1');
      expect(again.rows).toEqual([{ name: 'Ada', ssn: '********' }]);
      const view = await c.query('select name, tax_id from customer_view where id = 1');
      expect(view.rows).toEqual([{ name: 'Ada', tax_id: '********' }]);
    } finally {
      await c.end();
    }
  });
});
