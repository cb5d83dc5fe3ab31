import { createServer, type Server } from 'node:net';
import { Masker } from '@tollgate/masking';
import { maskingRulesFor } from '@tollgate/policy';
import { createMariadbDatabase, type MariadbTestDatabase } from '@tollgate/testing';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Answer, CARD, doorsClient, leaks, policyOf, SSN } from '../test-support/doors';
import { PolicyGate } from '../test-support/policy-gate';
import { listenOnLoopback, nativeUserTarget } from '../test-support/session-server';
import { runMysqlSession } from './mysql-session';
import type { MysqlTargetSettings } from './target-settings';

/** Column rules only (no detector): whatever is masked or withheld here is by lineage. */
const MASK = policyOf(`version: 1
guardrails:
  - name: careful-writes
    require_where: [UPDATE, DELETE]
masking:
  - name: pii
    columns: [customers.ssn, customers.card]
`);
/** The same columns, with filtering on them denied. */
const NO_PREDICATES = policyOf(`version: 1
masking:
  - name: pii
    columns: [customers.ssn, customers.card]
    predicates: deny
`);
/** MASK, with stored procedures allowed to run (CALL is opaque code, denied by default). */
const MASK_WITH_CALL = policyOf(`version: 1
guardrails:
  - name: procedures
    allow: { opaque: [CALL] }
masking:
  - name: pii
    columns: [customers.ssn, customers.card]
`);
/** MASK, with SQL the parser rejects let through (its rows masked whole). */
const MASK_UNPARSED = policyOf(`version: 1
guardrails:
  - name: anything-goes
    allow: { opaque: [UNPARSED] }
masking:
  - name: pii
    columns: [customers.ssn, customers.card]
`);
/** MASK, with user variables allowed to take values from tables (masked ones still denied by lineage). */
const MASK_WITH_VARIABLES = policyOf(`version: 1
guardrails:
  - name: variables
    allow: { opaque: [USER VARIABLE] }
masking:
  - name: pii
    columns: [customers.ssn, customers.card]
`);
const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
const connection = { name: 'my-test', protocol: 'mysql', tags: { env: 'test' } };
const masker = Masker.compile([maskingRulesFor(MASK, { subject, connection })]);

/**
 * More doors around lineage masking, each tried against the machine's MariaDB through the session:
 * where the server puts the columns of a join, statements that evaluate what they do not return
 * (EXPLAIN), code installed under an unusual DEFINER, and statements whose rows are other sessions'
 * statement text.
 */
describe('MySQL doors around lineage masking, continued (real MariaDB)', () => {
  let db: MariadbTestDatabase;
  let server: Server;
  let port: number;
  let gate: PolicyGate;
  let target: MysqlTargetSettings;

  beforeAll(async () => {
    db = createMariadbDatabase();
    db.sql(
      `CREATE TABLE customers (id int PRIMARY KEY, name varchar(40), ssn varchar(20), card varchar(20), age int);
       INSERT INTO customers VALUES (1, 'Ada', '${SSN[0]}', '${CARD}', 36), (2, 'Bob', '${SSN[1]}', NULL, 41);
       CREATE TABLE scratch (id int PRIMARY KEY, note text);
       INSERT INTO scratch VALUES (1, 'one'), (2, 'two');`,
    );
    db.sql(`DELIMITER //
       CREATE PROCEDURE ssn_out(OUT v TEXT) BEGIN SELECT ssn INTO v FROM customers WHERE id = 1; END//
       CREATE PROCEDURE ssn_planted() BEGIN SET @planted = (SELECT ssn FROM customers WHERE id = 1); END//
       DELIMITER ;`);
    target = nativeUserTarget(db);
    server = createServer((socket) => {
      void runMysqlSession(socket, { target, gate, masker });
    });
    port = await listenOnLoopback(server);
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    db?.drop();
  });
  beforeEach(() => {
    gate = new PolicyGate(MASK);
  });

  const { connect, run, session } = doorsClient(() => port, { rowsAsArray: true });

  const derived = (columns: string, from = 'customers') => `(SELECT ${columns} FROM ${from}) `;
  it.each([
    // A RIGHT JOIN's merged columns, then its right side's columns come first.
    `SELECT * FROM scratch s RIGHT JOIN ${derived("id, CONCAT(ssn, '') AS x")}d USING (id)`,
    `SELECT * FROM scratch s RIGHT OUTER JOIN ${derived("id, CONCAT(card, '') AS x")}d USING (id)`,
    `SELECT * FROM ${derived("id, 'a' AS a", 'scratch')}s RIGHT JOIN ${derived("id, CONCAT(ssn, '') AS x, 'b' AS b")}d USING (id)`,
    `SELECT d.*, s.* FROM scratch s RIGHT JOIN ${derived("id, CONCAT(ssn, '') AS x")}d USING (id)`,
    // Merged columns come in the order of the first table, not of the USING list.
    `SELECT * FROM ${derived("id, CONCAT(ssn, '') AS s")}a JOIN ${derived("CONCAT(ssn, '') AS s, id")}b USING (s, id)`,
    // A comma binds less tightly than JOIN: USING joins only the tables after the last comma.
    `SELECT * FROM ${derived("CONCAT(ssn, '') AS s")}d1, scratch JOIN scratch s2 USING (id)`,
    `SELECT * FROM ${derived("CONCAT(ssn, '') AS s")}d1, scratch RIGHT JOIN scratch s2 USING (id)`,
  ])('masks a derived column where the server puts it in a join: %s', async (sql) => {
    const [answer] = await session([sql]);
    expect(leaks(answer?.text ?? '')).toEqual([]);
    expect(answer?.sqlState).toBeUndefined();
    expect(answer?.text).toMatch(/\*{8}/);
  });

  it('keeps clear columns of a RIGHT JOIN clear in the order the server returns them', async () => {
    const [answer] = await session([
      `SELECT * FROM scratch s RIGHT JOIN ${derived("id, CONCAT(ssn, '') AS x, name")}d USING (id) ORDER BY id`,
    ]);
    expect(JSON.parse(answer?.text ?? '')).toEqual([
      [1, '********', 'Ada', 'one'],
      [2, '********', 'Bob', 'two'],
    ]);
  });

  const XPATH_OF_SSN = "EXTRACTVALUE(1, CONCAT('~', (SELECT ssn FROM customers LIMIT 1)))";
  it.each([
    `EXPLAIN SELECT 1 FROM scratch WHERE ${XPATH_OF_SSN}`,
    `EXPLAIN SELECT ${XPATH_OF_SSN}`,
    `EXPLAIN SELECT id FROM scratch WHERE id = 1 AND ${XPATH_OF_SSN}`,
    `EXPLAIN SELECT (SELECT ${XPATH_OF_SSN})`,
  ])('withholds the message of an error EXPLAIN raises evaluating masked values: %s', async (sql) => {
    // MariaDB evaluates constant expressions and subqueries while it plans: the error quotes the value.
    const [answer, after] = await session([sql, 'SELECT 41 + 1']);
    expect(leaks(answer?.text ?? '')).toEqual([]);
    expect(answer).toMatchObject({ code: 1105, sqlState: 'HY000' });
    expect(answer?.text).toMatch(/message is withheld/);
    expect(after?.text).toBe('[[42]]');
  });

  it('denies EXPLAIN of a statement that filters on a masked column under predicates: deny', async () => {
    // "Impossible WHERE noticed after reading const tables" tells whether row 1's ssn starts with z.
    gate = new PolicyGate(NO_PREDICATES);
    const answers = await session([
      "EXPLAIN SELECT id FROM customers WHERE id = 1 AND ssn LIKE 'z%'",
      'EXPLAIN SELECT ssn, name FROM customers WHERE id = 1',
    ]);
    expect(answers[0]).toMatchObject({ sqlState: '42000' });
    expect(answers[0]?.text).toMatch(/masking rule "pii"/);
    expect(answers[1]?.sqlState).toBeUndefined();
  });

  it.each([
    'CREATE DEFINER = CURRENT_USER ( ) TRIGGER leak_ssn BEFORE INSERT ON scratch FOR EACH ROW SET NEW.note = (SELECT ssn FROM customers WHERE id = 1)',
    'CREATE DEFINER = CURRENT_USER() TRIGGER leak_ssn BEFORE INSERT ON scratch FOR EACH ROW SET NEW.note = (SELECT ssn FROM customers WHERE id = 1)',
    "CREATE DEFINER = 'x y'@'%' TRIGGER leak_ssn BEFORE INSERT ON scratch FOR EACH ROW SET NEW.note = (SELECT ssn FROM customers WHERE id = 1)",
    'CREATE DEFINER = `x y`@`%` TRIGGER leak_ssn BEFORE INSERT ON scratch FOR EACH ROW SET NEW.note = (SELECT ssn FROM customers WHERE id = 1)',
  ])('denies a trigger whatever its DEFINER clause looks like: %s', async (sql) => {
    let answers: Answer[];
    try {
      answers = await session([
        sql,
        "INSERT INTO scratch VALUES (9, 'nine')",
        'SELECT note FROM scratch WHERE id = 9',
      ]);
    } finally {
      db.sql('DROP TRIGGER IF EXISTS leak_ssn; DELETE FROM scratch WHERE id = 9');
    }
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(answers[0]).toMatchObject({ sqlState: '42000' });
    expect(answers[0]?.text).toMatch(/CREATE TRIGGER is opaque code/);
    expect(answers[2]?.text).toBe('[["nine"]]');
  });

  it('masks whole the statement text of other sessions that SHOW PROCESSLIST shows', async () => {
    // The same database user, straight to the server (an application, unmasked), runs a statement
    // with a masked value in its text; the masked session lists the user's threads.
    const app = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: target.username,
      password: target.password,
      database: target.database,
    });
    const running = app
      .query(`SELECT SLEEP(60) FROM customers WHERE ssn = '${SSN[0]}'`)
      .catch(() => undefined);
    try {
      await expect
        .poll(() =>
          db.sql(
            `SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = ${app.threadId} AND INFO IS NOT NULL`,
          ),
        )
        .toMatch(/^1/);
      const [list] = await session(['SHOW PROCESSLIST']);
      expect(leaks(list?.text ?? '')).toEqual([]);
      expect(list?.sqlState).toBeUndefined();
      expect(list?.text).toMatch(/\*{8}/);
    } finally {
      db.sql(`KILL QUERY ${app.threadId}`);
      await running;
      await app.end();
    }
  });

  it('reads || as OR, as the server does, in a WHERE that require_where judges', async () => {
    const answers = await session([
      'DELETE FROM scratch WHERE id = 1 || 1',
      "UPDATE scratch SET note = 'gone' WHERE id = 1 || TRUE",
      'DELETE FROM scratch WHERE id = 3 || id = 4',
      "SET sql_mode = 'PIPES_AS_CONCAT'",
      // Now `1 || 1` is '11': a WHERE that restricts (no row has id 11).
      'DELETE FROM scratch WHERE id = 1 || 1',
    ]);
    for (const answer of answers.slice(0, 2)) {
      expect(answer).toMatchObject({ sqlState: '42000' });
      expect(answer.text).toMatch(/without a WHERE clause that restricts/);
    }
    expect(answers[2]?.sqlState).toBeUndefined();
    expect(answers[4]?.sqlState).toBeUndefined();
    expect(db.sql('SELECT id, note FROM scratch ORDER BY id').trim()).toBe('1\tone\n2\ttwo');
  });

  it.each([
    "SET STATEMENT max_statement_time = 0 FOR SET sql_mode = 'ANSI_QUOTES'",
    "SET STATEMENT max_statement_time = 0 FOR SET sql_mode = 'ANSI'",
  ])('reads how the server reads text again after SQL it could not read ran (%s)', async (unparsed) => {
    // Policy lets unparsed SQL run; this one changes sql_mode, so "ssn" becomes the column.
    gate = new PolicyGate(MASK_UNPARSED);
    const answers = await session([
      unparsed,
      'SELECT CONCAT("ssn", \'\') AS v FROM customers',
      "SELECT CONCAT(`ssn`, '') AS v, name FROM customers WHERE id = 1",
    ]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(answers[0]?.sqlState).toBeUndefined();
    expect(answers[1]?.text).toMatch(/double-quoted token .* ANSI_QUOTES|\*{8}/);
    expect(answers[2]?.text).toBe('[["********","Ada"]]');
  });

  it.each([
    [MASK_WITH_CALL, 'CALL ssn_out(@x)', '@x'],
    [MASK_WITH_CALL, 'CALL ssn_planted()', '@planted'],
  ] as const)(
    'takes user variables for untraced once code policy let run may have set them: %#',
    async (policy, setting, variable) => {
      gate = new PolicyGate(policy);
      const answers = await session([
        setting,
        `SELECT ${variable} AS v`,
        `SELECT CONCAT(${variable}, '') AS v, name FROM customers WHERE id = 2`,
        `INSERT INTO scratch VALUES (7, ${variable})`,
        `SET @copy = ${variable}`,
        "PREPARE put FROM 'INSERT INTO scratch VALUES (8, ?)'",
        `EXECUTE put USING ${variable}`,
        'SELECT COUNT(*) FROM scratch WHERE id IN (7, 8)',
      ]);
      expect(leaks(JSON.stringify(answers))).toEqual([]);
      expect(answers[0]?.sqlState).toBeUndefined();
      expect(answers[1]?.text).toBe('[["********"]]');
      expect(answers[2]?.text).toBe('[["********","Bob"]]');
      for (const denied of [answers[3], answers[4], answers[6]]) {
        expect(denied).toMatchObject({ sqlState: '42000' });
        expect(denied?.text).toMatch(/masking rule "pii"/);
      }
      expect(answers[7]?.text).toBe('[[0]]');
    },
  );

  it.each([
    'CREATE TABLE copied AS SELECT ssn FROM customers',
    'CREATE TABLE IF NOT EXISTS copied SELECT id, card FROM customers',
    'CREATE OR REPLACE TABLE copied SELECT * FROM customers',
    'CREATE TABLE copied AS WITH w AS (SELECT ssn FROM customers) SELECT * FROM w',
    "INSERT INTO scratch (id, note) SELECT id + 10, CONCAT(ssn, '') FROM customers LOCK IN SHARE MODE",
    'SET STATEMENT max_statement_time = 0 FOR SELECT ssn INTO @x FROM customers WHERE id = 1',
    'SET STATEMENT max_statement_time = 0 FOR INSERT INTO scratch SELECT id + 20, ssn FROM customers',
  ])('denies unparsed SQL that may store values where policy lets unparsed SQL run: %s', async (sql) => {
    gate = new PolicyGate(MASK_UNPARSED);
    const answers = await session([
      sql,
      'SELECT * FROM copied',
      'SELECT @x AS x',
      'SELECT COUNT(*) FROM scratch',
      // Unparsed reads still run, their rows masked whole.
      'SET STATEMENT max_statement_time = 0 FOR SELECT name, ssn FROM customers WHERE id = 1',
    ]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(answers[0]).toMatchObject({ sqlState: '42000' });
    expect(answers[0]?.text).toMatch(/may store values whose origin cannot be traced.*masking rule "pii"/);
    expect(answers[1]?.code).toBe(1146);
    expect(answers[2]?.text).toBe('[[null]]');
    expect(answers[3]?.text).toBe('[[2]]');
    expect(answers[4]?.text).toBe('[["********","********"]]');
  });

  it('denies INTO after a set operation whose rows hold a masked value, from whichever select', async () => {
    gate = new PolicyGate(MASK_WITH_VARIABLES);
    const answers = await session([
      "SELECT ssn FROM customers WHERE id = 1 UNION SELECT 'b' INTO @u",
      'SELECT @u',
      "SELECT name FROM customers WHERE id = 1 UNION SELECT 'b' FROM dual WHERE 0 INTO @n",
      'SELECT @n',
    ]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(answers[0]).toMatchObject({ sqlState: '42000' });
    expect(answers[0]?.text).toMatch(/masking rule "pii"/);
    expect(answers[1]?.text).toBe('[[null]]');
    expect(answers[3]?.text).toBe('[["Ada"]]');
  });

  it.each([
    "SET STATEMENT max_statement_time = 0 FOR SELECT EXTRACTVALUE(1, CONCAT('~', (SELECT ssn FROM customers LIMIT 1)))",
    "SELECT EXTRACTVALUE(1, CONCAT('~', (SELECT card FROM customers LIMIT 1))) FROM JSON_TABLE('[1]', '$[*]' COLUMNS (v INT PATH '$')) j",
  ])(
    'withholds the server message of an error of SQL policy let run unparsed (query and execute): %s',
    async (sql) => {
      gate = new PolicyGate(MASK_UNPARSED);
      const client = await connect();
      try {
        const answers: Answer[] = [
          await run(client, sql),
          await client.execute(sql).then(
            ([rows]) => ({ text: JSON.stringify(rows) }),
            (e: Error & { errno?: number }) => ({ text: e.message, code: e.errno ?? 0 }),
          ),
          await run(client, 'SELECT 1'),
        ];
        expect(leaks(JSON.stringify(answers))).toEqual([]);
        // The client still learns which error it was; the session goes on.
        expect(answers[0]).toMatchObject({ code: 1105, sqlState: 'HY000' });
        expect(answers[0]?.text).toMatch(/message is withheld/);
        expect(answers[1]).toMatchObject({ code: 1105 });
        expect(answers[1]?.text).toMatch(/message is withheld/);
        expect(answers[2]?.text).toBe('[[1]]');
      } finally {
        await client.end();
      }
    },
  );
});
