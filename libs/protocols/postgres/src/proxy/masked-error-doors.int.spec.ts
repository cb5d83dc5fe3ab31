import pg from 'pg';
import { beforeEach, describe, expect, it } from 'vitest';
import { CUSTOMERS_SQL, SECRET, useMaskedSessions } from '../test-support/masked-sessions';

/**
 * The server's errors quote stored rows of tables a statement does not name: rows a foreign key's
 * action changes, constraints checked at COMMIT, statistics computed by a database-wide ANALYZE.
 * None of those words may carry a masked value to the client.
 */
describe('PostgreSQL masking: errors about rows the statement does not name (real server)', () => {
  const { onServer, client } = useMaskedSessions();
  /** Everything the client was told about a failure (all fields), or 'ok'. */
  const attempt = async (c: pg.Client, sql: string, values?: unknown[]) => {
    try {
      await c.query(sql, values);
      return 'ok';
    } catch (error) {
      // The message is not an own enumerable property of an Error: named, so it is searched too.
      return JSON.stringify({ message: (error as Error).message, ...(error as object) });
    }
  };

  beforeEach(async () => {
    await onServer(`
      DROP TABLE IF EXISTS customers, parent_keys, pair_keys CASCADE;
      ${CUSTOMERS_SQL}`);
  });

  it("withholds the errors of rows a foreign key's action changes in a masked table", async () => {
    await onServer(`
      CREATE TABLE parent_keys (x text PRIMARY KEY);
      INSERT INTO parent_keys VALUES ('a');
      ALTER TABLE customers ADD COLUMN k text NOT NULL DEFAULT 'a'
        REFERENCES parent_keys (x) ON UPDATE CASCADE ON DELETE SET NULL;
      ALTER TABLE customers ADD CONSTRAINT k_is_a CHECK (k = 'a') NOT VALID;`);
    const c = await client();
    try {
      // ON UPDATE CASCADE: the CHECK fails on the cascaded row ("Failing row contains (...)").
      const update = await attempt(c, "update parent_keys set x = 'b' where x = 'a'");
      expect(update).toContain('23514');
      expect(update).not.toContain(SECRET);
      // ON DELETE SET NULL: the NOT NULL fails on the changed row.
      const remove = await attempt(c, 'delete from parent_keys');
      expect(remove).toContain('23502');
      expect(remove).not.toContain(SECRET);
      // A table nothing masked refers to keeps the server's words.
      await onServer('create table plain_keys (x text primary key); insert into plain_keys values (1)');
      expect(await attempt(c, "insert into plain_keys values ('1')")).toContain('already exists');
      await onServer('drop table plain_keys');
    } finally {
      await c.end();
    }
  });

  /** A deferred foreign key whose key holds ssn: its violation, at COMMIT, quotes the key. */
  const deferredKey = () =>
    onServer(`
      CREATE TABLE pair_keys (x text, y text, UNIQUE (x, y));
      ALTER TABLE customers ADD COLUMN k text;
      ALTER TABLE customers ADD FOREIGN KEY (k, ssn) REFERENCES pair_keys (x, y)
        DEFERRABLE INITIALLY DEFERRED;`);

  it('withholds the errors of constraints checked at COMMIT and SET CONSTRAINTS', async () => {
    await deferredKey();
    const c = await client();
    try {
      for (const end of ['commit', 'set constraints all immediate']) {
        await c.query('begin');
        expect(await attempt(c, "update customers set k = 'z' where id = 1")).toBe('ok');
        const ended = await attempt(c, end);
        expect(ended, end).toContain('23503');
        expect(ended, end).not.toContain(SECRET);
        await c.query('rollback');
      }
      // One string: the check runs at its implicit COMMIT, after the last statement.
      const string = await attempt(c, "update customers set k = 'z' where id = 1; select 1");
      expect(string).toContain('23503');
      expect(string).not.toContain(SECRET);
      // Errors of a transaction that changed nothing masked are the server's.
      await c.query('begin');
      expect(await attempt(c, 'select 1/0')).toContain('division by zero');
      await c.query('rollback');
    } finally {
      await c.end();
    }
  });

  it("withholds the errors of a Sync's implicit COMMIT (extended protocol)", async () => {
    await deferredKey();
    const c = await client();
    try {
      // The check runs at Sync, after the statement's CommandComplete: no statement is being answered.
      const extended = await attempt(c, 'update customers set k = $1 where id = 1', ['z']);
      expect(extended).toContain('23503');
      expect(extended).not.toContain(SECRET);
    } finally {
      await c.end();
    }
  });

  it('withholds the errors of a masked table changed by a WITH of a SELECT or by what EXECUTE runs', async () => {
    await onServer(`ALTER TABLE customers ADD CONSTRAINT short_name CHECK (length(name) < 10)`);
    const c = await client();
    try {
      const long = "name = 'Aaaaaaaaaaaaaaaa'";
      for (const sql of [
        `with x as (update customers set ${long} where id = 1 returning id) select * from x`,
        `prepare long_name as update customers set ${long} where id = 1; execute long_name`,
      ]) {
        // "Failing row contains (1, Aaaaaaaaaaaaaaaa, <ssn>)".
        const error = await attempt(c, sql);
        expect(error, sql).toContain('23514');
        expect(error, sql).not.toContain(SECRET);
      }
    } finally {
      await c.end();
    }
  });

  it("withholds the errors of FETCH and MOVE, which run a cursor's query that only filters on a masked column", async () => {
    const c = await client();
    try {
      // DECLARE answers at once; the server reads the rows (and fails, quoting ssn) when asked.
      const cursor = 'declare cur cursor for select id from customers where ssn::int > 0';
      for (const [sql, then] of [
        [cursor, 'fetch all from cur'],
        [cursor, 'move forward all in cur'],
        [`${cursor}; fetch 1 from cur`, undefined],
      ] as const) {
        await c.query('begin');
        try {
          const declared = await attempt(c, sql);
          const error = then === undefined ? declared : await attempt(c, then);
          expect(error, `${sql}; ${then}`).toContain('22P02');
          expect(error, `${sql}; ${then}`).not.toContain(SECRET);
        } finally {
          await c.query('rollback');
        }
      }
      // A cursor over what is not masked fails with the server's words.
      await c.query('begin');
      await c.query('declare plain cursor for select id from customers where name::int > 0');
      expect(await attempt(c, 'fetch all from plain')).toContain(
        'invalid input syntax for type integer: \\"Ada\\"',
      );
      await c.query('rollback');
    } finally {
      await c.end();
    }
  });

  it('withholds the errors of a COMMIT that reads a WITH HOLD cursor over a masked column', async () => {
    const c = await client();
    try {
      await c.query('begin');
      await c.query('declare held cursor with hold for select id from customers where ssn::int > 0');
      const error = await attempt(c, 'commit');
      expect(error).toContain('22P02');
      expect(error).not.toContain(SECRET);
    } finally {
      await c.end();
    }
  });

  it('withholds the errors of a database-wide ANALYZE computing statistics over a masked column', async () => {
    await onServer(`CREATE STATISTICS customers_ssn_int ON (ssn::int), (id) FROM customers`);
    const c = await client();
    try {
      for (const sql of ['analyze', 'vacuum analyze', 'analyze verbose']) {
        const error = await attempt(c, sql);
        expect(error, sql).toContain('22P02');
        expect(error, sql).not.toContain(SECRET);
      }
    } finally {
      await c.end();
    }
  });
});
