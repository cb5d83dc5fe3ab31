import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyMysql, MysqlReading } from './sql-classifier';
import { serverFlavor } from './sql/statement-splitter';

const facts = (sql: string, reading = new MysqlReading()) => {
  const result = classifyMysql(sql, reading);
  if (!result.ok) throw new Error(`unparsed: ${result.error}`);
  return result.statements;
};
const unparsed = (sql: string, reading = new MysqlReading()) => {
  const result = classifyMysql(sql, reading);
  return result.ok ? undefined : result.error;
};
/** How the session reads a MariaDB 10.11 server's text (versioned comments run). */
const mariadb = () => {
  const reading = new MysqlReading();
  reading.server = serverFlavor('5.5.5-10.11.19-MariaDB-0+deb12u1');
  return reading;
};

describe('MySQL classifier', () => {
  it('classifies statements with their tables, WHERE and read-only flag', () => {
    expect(facts('SELECT a FROM app.t JOIN u ON u.id = t.id; DELETE FROM u WHERE id = 3')).toEqual([
      { type: 'SELECT', tables: ['app.t', 'u'], readOnly: true },
      { type: 'DELETE', tables: ['u'], hasWhere: true, readOnly: false },
    ]);
    expect(facts('SELECT * FROM t FOR UPDATE')[0]).toMatchObject({ type: 'SELECT', readOnly: false });
    expect(facts('DROP TABLE t')[0]).toMatchObject({ type: 'DROP TABLE', readOnly: false });
    expect(facts('USE app')[0]).toMatchObject({ type: 'USE', readOnly: true });
  });

  it('does not count a WHERE that every row passes', () => {
    for (const where of ['', 'WHERE 1', "WHERE 'x'", 'WHERE id = id', 'WHERE id = 3 OR 1']) {
      expect(facts(`DELETE FROM t ${where}`)[0]?.hasWhere).toBe(false);
    }
    expect(facts('UPDATE t SET a = 1 WHERE id = 3 AND 1')[0]?.hasWhere).toBe(true);
  });

  it('reads executable comments as the code the server runs', () => {
    expect(facts('SELECT 1 /*!, ssn FROM customers */')[0]).toMatchObject({
      type: 'SELECT',
      tables: ['customers'],
    });
    const mariadb = new MysqlReading();
    mariadb.server = serverFlavor('5.5.5-10.11.19-MariaDB-0+deb12u1');
    expect(facts('/*!50001 DROP TABLE t */', mariadb)[0]).toMatchObject({ type: 'DROP TABLE' });
    expect(facts('/*M!100101 DROP TABLE t */', mariadb)[0]).toMatchObject({ type: 'DROP TABLE' });
    // Versions the server skips are comments: MariaDB skips MySQL 5.7-era ones and those above its own.
    for (const skipped of [
      '/*!57000 DROP TABLE t */',
      '/*!999999 DROP TABLE t */',
      '/*M!101120 DROP TABLE t */',
    ])
      expect(facts(`SELECT 1 ${skipped}`, mariadb)).toEqual([{ type: 'SELECT', tables: [], readOnly: true }]);
    // ... and may hold one nested comment, whose `*\/` does not end them.
    expect(facts('SELECT 1 /*!999999 /* x */ DROP TABLE t */', mariadb)).toEqual([
      { type: 'SELECT', tables: [], readOnly: true },
    ]);
    const mysql8 = new MysqlReading();
    mysql8.server = serverFlavor('8.0.36');
    expect(facts('/*!80000 DROP TABLE t */', mysql8)[0]).toMatchObject({ type: 'DROP TABLE' });
    expect(facts('SELECT 1 /*!80100 DROP TABLE t */', mysql8)[0]).toMatchObject({ type: 'SELECT' });
    expect(unparsed('SELECT 1 /*M!100101 , ssn FROM t */', mysql8)).toMatch(/may or may not run/);
    // A server of unknown version: only unversioned executable comments are read.
    expect(unparsed('SELECT 1 /*!50001 , ssn FROM t */')).toMatch(/may or may not run/);
    // Inside a string it is text, not code.
    expect(facts("SELECT '/*! DROP TABLE t */'")).toEqual([{ type: 'SELECT', tables: [], readOnly: true }]);
    expect(unparsed('SELECT 1 /*! ; DROP TABLE t */')).toMatch(/inside an executable comment/);
  });

  it('refuses text the server reads differently from the parser', () => {
    // `--1` is arithmetic to MySQL and a comment to the parser.
    expect(unparsed('SELECT 1 --1\n; DROP TABLE t')).toMatch(/not followed by a space/);
    expect(facts('SELECT 1 -- comment\n')[0]).toMatchObject({ type: 'SELECT' });
    expect(unparsed("SELECT 'open")).toMatch(/unterminated/);
    const reading = new MysqlReading();
    reading.after(facts("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'"));
    expect(unparsed("SELECT 'a\\'; DROP TABLE t; -- '", reading)).toMatch(/NO_BACKSLASH_ESCAPES/);
    expect(facts("SELECT 'a'", reading)[0]?.type).toBe('SELECT');
    expect(unparsed('SELECT \ufffd')).toMatch(/not valid UTF-8/);
  });

  it('decides PREPARE by the statement it prepares, and EXECUTE of that name as it', () => {
    const reading = new MysqlReading();
    const prepared = facts("PREPARE s FROM 'DELETE FROM t'", reading);
    expect(prepared).toMatchObject([
      { type: 'PREPARE', prepares: 's' },
      { type: 'DELETE', tables: ['t'], hasWhere: false, nestedIn: 'PREPARE' },
    ]);
    reading.after(prepared);
    expect(facts('EXECUTE s', reading)).toMatchObject([
      { type: 'EXECUTE' },
      { type: 'DELETE', nestedIn: 'EXECUTE' },
    ]);
    reading.after(facts('DEALLOCATE PREPARE s', reading));
    expect(facts('EXECUTE s', reading)[0]?.opaque).toEqual(['EXECUTE']);
    // Classifications are cached by text; what EXECUTE runs is never taken from another session.
    const other = new MysqlReading();
    other.after(facts("PREPARE s FROM 'SELECT 1'", other));
    expect(facts('EXECUTE s', other)).toMatchObject([
      { type: 'EXECUTE' },
      { type: 'SELECT', nestedIn: 'EXECUTE' },
    ]);
    expect(facts('EXECUTE s', new MysqlReading())[0]?.opaque).toEqual(['EXECUTE']);
    expect(facts('PREPARE s FROM @q')[0]?.opaque).toEqual(['DYNAMIC SQL']);
    expect(facts("EXECUTE IMMEDIATE 'DROP TABLE t'")[0]?.opaque).toEqual(['DYNAMIC SQL']);
  });

  it('reports MySQL opaque code per kind', () => {
    expect(facts('CREATE PROCEDURE p() SELECT 1')[0]?.opaque).toEqual(['CREATE PROCEDURE']);
    expect(facts('CREATE DEFINER = root FUNCTION f() RETURNS int RETURN 1')[0]?.opaque).toEqual([
      'CREATE FUNCTION',
    ]);
    expect(facts('CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t')[0]?.opaque).toEqual([
      'CREATE EVENT',
    ]);
    expect(facts('CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET @x = 1')[0]?.opaque).toEqual([
      'CREATE TRIGGER',
    ]);
    expect(facts('CALL p()')[0]?.opaque).toEqual(['CALL']);
    expect(facts('BEGIN NOT ATOMIC SELECT 1')[0]?.opaque).toEqual(['DO']);
    expect(facts("SELECT * FROM t INTO OUTFILE '/tmp/x'")[0]).toMatchObject({
      type: 'SELECT INTO',
      opaque: ['FILE ACCESS'],
    });
    expect(facts("SELECT LOAD_FILE('/etc/passwd')")[0]?.opaque).toEqual(['FILE ACCESS']);
    expect(facts("LOAD DATA LOCAL INFILE '/x' INTO TABLE t")[0]).toMatchObject({
      type: 'LOAD DATA',
      opaque: ['FILE ACCESS'],
    });
    expect(facts('SELECT ssn INTO @x FROM customers')[0]?.opaque).toEqual(['USER VARIABLE']);
    expect(facts('SET @a := (SELECT ssn FROM customers)')[0]?.opaque).toEqual(['USER VARIABLE']);
    expect(facts('SET @a = 1')[0]?.opaque).toBeUndefined();
    expect(facts('HANDLER customers OPEN')[0]).toEqual({
      type: 'HANDLER',
      tables: ['customers'],
      readOnly: true,
    });
  });

  it.each([
    'CREATE DEFINER = CURRENT_USER ( ) TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1',
    'CREATE DEFINER=CURRENT_USER() TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1',
    "CREATE DEFINER = 'x y'@'%' TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
    'CREATE DEFINER = `x y`@`%` TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1',
    "CREATE OR REPLACE DEFINER = 'a' @ 'b' TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1",
    'CREATE /*!50017 DEFINER = CURRENT_USER ( ) */ TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.a = 1',
  ])('reports a trigger as opaque whatever its DEFINER clause: %s', (sql) => {
    expect(facts(sql, mariadb())[0]).toMatchObject({ type: 'CREATE TRIGGER', opaque: ['CREATE TRIGGER'] });
  });

  it.each([
    ["CREATE DEFINER = 'x y'@'%' PROCEDURE p() SELECT 1", 'CREATE PROCEDURE'],
    ["CREATE DEFINER = 'x y'@'%' FUNCTION f() RETURNS int RETURN 1", 'CREATE FUNCTION'],
    ["CREATE DEFINER = 'x y'@'%' EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1", 'CREATE EVENT'],
    ['ALTER DEFINER = CURRENT_USER ( ) EVENT e DISABLE', 'CREATE EVENT'],
  ])('reports routines and events as opaque whatever their DEFINER clause: %s', (sql, kind) => {
    expect(facts(sql, mariadb())[0]?.opaque).toEqual([kind]);
  });

  it('reads || as the server does: OR, unless sql_mode has PIPES_AS_CONCAT', () => {
    // `id = 1 || 1` is `(id = 1) OR 1` to the server, true for every row; read as concatenation it
    // would be `id = '11'`, a pin.
    const or = mariadb();
    or.learn({ sqlMode: 'STRICT_TRANS_TABLES', characterSetClient: 'utf8mb4' });
    expect(facts('DELETE FROM t WHERE id = 1 || 1', or)[0]?.hasWhere).toBe(false);
    expect(facts('UPDATE t SET a = 1 WHERE id = 1 || TRUE', or)[0]?.hasWhere).toBe(false);
    expect(facts("SELECT 'a||b' || `c||d` FROM t /* || */", or)[0]?.type).toBe('SELECT');
    const concat = mariadb();
    concat.learn({ sqlMode: 'PIPES_AS_CONCAT', characterSetClient: 'utf8mb4' });
    expect(facts('DELETE FROM t WHERE id = 1 || 1', concat)[0]?.hasWhere).toBe(true);
    // Changed and not read again yet: not known, so refused.
    const changed = mariadb();
    changed.learn({ sqlMode: 'STRICT_TRANS_TABLES', characterSetClient: 'utf8mb4' });
    changed.after([{ type: 'SET', readOnly: true, changesSqlMode: true }]);
    expect(unparsed('DELETE FROM t WHERE id = 1 || 1', changed)).toMatch(/PIPES_AS_CONCAT/);
  });

  it.each([
    'SET NAMES gbk',
    "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_bin'",
    'SET NAMES DEFAULT',
    'SET CHARACTER SET `sjis`',
    'SET CHARSET "big5"',
    '/* a client */ SET names utf8mb4 collate default',
  ])('reads %s as a SET that changes how later text reads', (sql) => {
    expect(facts(sql, mariadb())).toEqual([{ type: 'SET', readOnly: true, changesSqlMode: true }]);
  });

  it('leaves SET NAMES combined with other assignments, or followed by statements, unparsed', () => {
    expect(unparsed('SET NAMES gbk, @x = (SELECT ssn FROM customers)', mariadb())).toBeDefined();
    expect(unparsed('SET @x = 1, NAMES gbk', mariadb())).toBeDefined();
    expect(unparsed('SET NAMES gbk; SELECT 1', mariadb())).toMatch(/followed by others/);
  });

  it.each([
    ['CREATE TABLE c AS SELECT ssn FROM customers', true],
    ['CREATE TABLE IF NOT EXISTS c SELECT ssn FROM customers', true],
    ['INSERT INTO t SELECT id, ssn FROM customers LOCK IN SHARE MODE', true],
    ['SET STATEMENT max_statement_time = 0 FOR SELECT ssn INTO @x FROM customers', true],
    ['SET STATEMENT max_statement_time = (SELECT 1) FOR SELECT 1', true],
    ['SET STATEMENT max_statement_time = 0 FOR SET @x = 1', true],
    ['GET DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT', true],
    ["SELECT 1 AS x FROM JSON_TABLE('[1]', '$[*]' COLUMNS (v INT PATH '$')) j WHERE (@v := 1)", true],
    ["SELECT SETVAL(s, 1) FROM JSON_TABLE('[1]', '$[*]' COLUMNS (v INT PATH '$')) j", true],
    ['SET STATEMENT max_statement_time = 0 FOR SELECT ssn FROM customers', false],
    ["SET STATEMENT max_statement_time = 0 FOR SET sql_mode = 'ANSI'", false],
    [
      "SELECT 'INSERT INTO' AS `into`, \"CREATE\" FROM JSON_TABLE('[1]', '$[*]' COLUMNS (v INT PATH '$')) j",
      false,
    ],
    ['CHECKSUM TABLE customers', false],
  ] as const)('says whether unparsed text may store values: %s', (sql, stores) => {
    const result = classifyMysql(sql, mariadb());
    expect(result.ok).toBe(false);
    expect(!result.ok && result.mayStore === true).toBe(stores);
  });

  it('says text the server may read otherwise than the splitter may store values', () => {
    const ansi = mariadb();
    ansi.learn({ sqlMode: 'ANSI_QUOTES', characterSetClient: 'utf8mb4' });
    expect(classifyMysql('SELECT "ssn" FROM customers', ansi)).toMatchObject({ ok: false, mayStore: true });
  });

  it('never lets the content of a string literal become a statement (any content, backslash escapes on)', () => {
    const quote = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (content) => {
        const result = classifyMysql(`SELECT ${quote(content)} AS v`);
        if (!result.ok) return true; // refused is safe; what matters is never a second statement
        return result.statements.length === 1 && result.statements[0]?.type === 'SELECT';
      }),
      { numRuns: 100 },
    );
  });
});
