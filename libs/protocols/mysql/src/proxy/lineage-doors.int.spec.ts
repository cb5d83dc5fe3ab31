import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { Masker } from '@tollgate/masking';
import { maskingRulesFor } from '@tollgate/policy';
import { createMariadbDatabase, type MariadbTestDatabase } from '@tollgate/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CARD, doorsClient, leaks, policyOf, SSN } from '../test-support/doors';
import { PolicyGate } from '../test-support/policy-gate';
import { listenOnLoopback, nativeUserTarget } from '../test-support/session-server';
import type { StatementOutcome } from './command-gate';
import { runMysqlSession } from './mysql-session';
import type { MysqlTargetSettings } from './target-settings';

/** Column rules only (no detector): whatever is masked or withheld here is by lineage. */
const MASK = policyOf(`version: 1
guardrails:
  - name: careful-writes
    require_where: [UPDATE, DELETE]
masking:
  - name: pii
    columns: [customers.ssn, customers.card, vault.secret, cards.number]
`);
const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
const connection = { name: 'my-test', protocol: 'mysql', tags: { env: 'test' } };
const masker = Masker.compile([maskingRulesFor(MASK, { subject, connection })]);

/**
 * The doors a parser-based engine misses, tried against the machine's MariaDB through the session:
 * error messages that quote values, sql_mode and character sets under which the server reads text
 * otherwise than the parser, DDL that moves masked values under other names, and WHEREs that are
 * true for every row.
 */
describe('MySQL doors around lineage masking (real MariaDB)', () => {
  let db: MariadbTestDatabase;
  let server: Server;
  let port: number;
  let gate: PolicyGate;
  const outcomes: StatementOutcome[] = [];

  beforeAll(async () => {
    db = createMariadbDatabase();
    db.sql(
      `CREATE TABLE customers (id int PRIMARY KEY, name varchar(40), ssn varchar(20), card varchar(20), age int);
       INSERT INTO customers VALUES (1, 'Ada', '${SSN[0]}', '${CARD}', 36), (2, 'Bob', '${SSN[1]}', NULL, 41);
       CREATE TABLE scratch (id int PRIMARY KEY, note text);
       INSERT INTO scratch VALUES (1, 'one'), (2, 'two');
       CREATE TABLE vault (id int, secret varchar(20)) ENGINE=MyISAM;
       INSERT INTO vault VALUES (1, '${SSN[0]}');
       CREATE TABLE vault_all (id int, secret varchar(20)) ENGINE=MERGE UNION=(vault);
       CREATE TABLE cards (id int PRIMARY KEY, holder int, number varchar(20), UNIQUE KEY holder_number (holder, number));
       INSERT INTO cards VALUES (1, 1, '${CARD}'), (2, 2, '${CARD}');`,
    );
    const target: MysqlTargetSettings = nativeUserTarget(db);
    server = createServer((socket) => {
      void runMysqlSession(socket, { target, gate, masker, onStatement: (o) => outcomes.push(o) });
    });
    port = await listenOnLoopback(server);
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    db?.drop();
  });
  beforeEach(() => {
    gate = new PolicyGate(MASK);
    outcomes.length = 0;
  });

  const { connect, run, session } = doorsClient(() => port);

  it.each([
    ["SELECT EXTRACTVALUE(1, CONCAT('~', (SELECT ssn FROM customers LIMIT 1)))", 1105, 'HY000'],
    ["SELECT UPDATEXML(1, CONCAT('~', (SELECT card FROM customers LIMIT 1)), 1)", 1105, 'HY000'],
    ["SELECT name FROM customers WHERE EXTRACTVALUE(1, CONCAT('~', ssn)) AND id = 1", 1105, 'HY000'],
    // Strict mode makes the comparison's truncation an error that quotes the value.
    ['UPDATE customers SET age = age WHERE ssn = 0', 1292, '22007'],
    ['SELECT 1; UPDATE customers SET age = age WHERE card = 0 AND id = 1', 1292, '22007'],
  ] as const)(
    'withholds the server message of an error quoting a masked value: %s',
    async (sql, code, sqlState) => {
      const [answer] = await session([sql]);
      expect(leaks(answer?.text ?? '')).toEqual([]);
      // The client still learns which error it was: code and SQLSTATE are the server's.
      expect(answer).toMatchObject({ code, sqlState });
      expect(answer?.text).toMatch(/message is withheld because the statement reads masked columns/);
      // Neither does the audit trail keep the value.
      expect(leaks(JSON.stringify(outcomes))).toEqual([]);
    },
  );

  it('withholds a duplicate-key error that quotes a masked value of the table written to', async () => {
    // Two rows share a card number: moving one to the other's holder collides on (holder, number),
    // and MariaDB names the key's values: `Duplicate entry '1-<number>'`.
    const [update, insert] = await session([
      'UPDATE cards SET holder = 1 WHERE id = 2',
      'INSERT INTO cards (id, holder, number) VALUES (1, 9, NULL)',
    ]);
    expect(leaks(JSON.stringify([update, insert]))).toEqual([]);
    expect(update).toMatchObject({ code: 1062, sqlState: '23000' });
    expect(update?.text).toMatch(/message is withheld/);
    expect(insert).toMatchObject({ code: 1062 });
    // A table without masked columns keeps the server's words.
    expect(await session(["INSERT INTO scratch VALUES (1, 'x')"])).toMatchObject([
      { code: 1062, text: "Duplicate entry '1' for key 'PRIMARY'" },
    ]);
  });

  it('withholds such errors in binary-protocol executions, and keeps messages of statements on clear columns', async () => {
    const client = await connect();
    try {
      const failed = await client
        .execute("SELECT EXTRACTVALUE(1, CONCAT('~', (SELECT ssn FROM customers WHERE id = ?)))", [1])
        .then(
          () => undefined,
          (e: Error & { sqlState?: string }) => e,
        );
      expect(failed?.sqlState).toBe('HY000');
      expect(leaks(failed?.message ?? '')).toEqual([]);
      // A statement over clear columns only: the server's own words, which help.
      expect(
        await run(client, "SELECT EXTRACTVALUE(1, CONCAT('~', (SELECT name FROM customers LIMIT 1)))"),
      ).toMatchObject({ code: 1105, text: "XPATH syntax error: '~Ada'" });
      expect(
        (await run(client, 'SELECT id FROM scratch WHERE note = (SELECT note FROM scratch)')).text,
      ).toMatch(/Subquery returns more than 1 row/);
    } finally {
      await client.end();
    }
  });

  it('reads double quotes as the server does once sql_mode has ANSI_QUOTES (or may have)', async () => {
    const answers = await session([
      "SET sql_mode = 'ANSI_QUOTES'",
      'SELECT CONCAT("ssn", \'\') AS v FROM customers',
      'SELECT LOWER("card") AS v FROM customers',
      // Strings in single quotes, and identifiers in backticks, read the same under either mode.
      "SELECT CONCAT(`ssn`, '') AS v, 'a \"quoted\" word' AS w FROM customers WHERE id = 1",
      "SET sql_mode = 'STRICT_TRANS_TABLES'",
      'SELECT CONCAT("ssn", \'\') AS v FROM customers WHERE id = 1',
    ]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(answers[1]).toMatchObject({ sqlState: '42000' });
    expect(answers[1]?.text).toMatch(/double-quoted token .* ANSI_QUOTES/);
    expect(answers[2]).toMatchObject({ sqlState: '42000' });
    expect(JSON.parse(answers[3]?.text ?? '')).toEqual([{ v: '********', w: 'a "quoted" word' }]);
    // Back to a mode without ANSI_QUOTES: "ssn" is a string again, for the server and the parser.
    expect(JSON.parse(answers[5]?.text ?? '')).toEqual([{ v: 'ssn' }]);
  });

  it.each([
    ["SET sql_mode = 'ANSI'", 'SELECT CONCAT("ssn", \'\') AS v FROM customers'],
    [
      "SET @@session.sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES')",
      'SELECT UPPER("card") AS v FROM customers',
    ],
    ["SET sql_mode = (SELECT 'ANSI_QUOTES')", 'SELECT REVERSE(REVERSE("ssn")) AS v FROM customers'],
    ["SET sql_mode = 'ORACLE'", "SELECT CONCAT(ssn, '') AS v FROM customers"],
  ])('refuses what it cannot read as the server does after %s', async (set, select) => {
    const answers = await session([set, select]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(answers[1]).toMatchObject({ sqlState: '42000' });
  });

  it('refuses statements after a change of sql_mode in the same command', async () => {
    const [answer] = await session([
      "SET sql_mode = 'ANSI_QUOTES'; SELECT CONCAT(\"ssn\", '') AS v FROM customers",
    ]);
    expect(leaks(answer?.text ?? '')).toEqual([]);
    expect(answer).toMatchObject({ sqlState: '42000' });
    expect(answer?.text).toMatch(/followed by others in the same command/);
  });

  it('refuses non-ASCII text under a client character set that can take in ASCII bytes', async () => {
    // A GBK client: a multi-byte character may end in a backtick, a backslash or a letter.
    const gbk = await session(["SELECT 'é' AS e", 'SELECT 1 AS one'], 'GBK_CHINESE_CI');
    expect(gbk[0]).toMatchObject({ sqlState: '42000' });
    // mysql2 sends it in GBK (not UTF-8: refused as such); a raw client's UTF-8 is refused below.
    expect(gbk[0]?.text).toMatch(/non-ASCII character|not valid UTF-8/);
    expect(gbk[1]?.text).toBe('[{"one":1}]');
    // Changed during the session, and back.
    const changed = await session([
      "SET character_set_client = 'gbk'",
      "SELECT 'é' AS e",
      "SET character_set_client = 'utf8mb4'",
      "SELECT 'é' AS e",
    ]);
    expect(changed[0]?.text).toMatch(/affectedRows/);
    expect(changed[1]).toMatchObject({ sqlState: '42000' });
    // mysql2 follows the change (session tracking) and sends GBK bytes.
    expect(changed[1]?.text).toMatch(/non-ASCII character|not valid UTF-8/);
    expect(changed[3]?.text).toBe('[{"e":"é"}]');
  });

  it('lets a client set its character set with SET NAMES or SET CHARACTER SET, and reads text in it', async () => {
    // Drivers send SET NAMES when they connect (PDO, Connector/J): refused as unparsed before.
    const answers = await session([
      'SET NAMES gbk',
      "SELECT 'é' AS e",
      'SELECT 1 AS one',
      "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_bin'",
      "SELECT 'é' AS e",
      'SET CHARACTER SET sjis',
      // mysql2 sends no é in SJIS ('?'); a backslash may end an SJIS character.
      "SELECT 'a\\\\b' AS e",
      'SET CHARSET DEFAULT',
      "SELECT 'é' AS e",
      // Combined with an assignment: not read, so refused (guardrails depend on classification).
      'SET NAMES utf8mb4, @x = (SELECT ssn FROM customers LIMIT 1)',
      'SELECT @x AS x',
    ]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(answers[0]?.text).toMatch(/affectedRows/);
    expect(answers[1]).toMatchObject({ sqlState: '42000' });
    expect(answers[1]?.text).toMatch(/non-ASCII character|not valid UTF-8/);
    expect(answers[2]?.text).toBe('[{"one":1}]');
    expect(answers[4]?.text).toBe('[{"e":"é"}]');
    expect(answers[6]).toMatchObject({ sqlState: '42000' });
    expect(answers[6]?.text).toMatch(/backslash/);
    expect(answers[8]?.text).toBe('[{"e":"é"}]');
    expect(answers[9]).toMatchObject({ sqlState: '42000' });
    expect(answers[10]?.text).toBe('[{"x":null}]');
  });

  it.each([
    ['a gbk client', ['--default-character-set=gbk'], ''],
    [
      'a client that switches to gbk',
      ['--default-character-set=utf8mb4'],
      "SET character_set_client = 'gbk';\n",
    ],
    ['a client that says SET NAMES gbk', ['--default-character-set=utf8mb4'], 'SET NAMES gbk;\n'],
  ])(
    'refuses UTF-8 text whose bytes GBK reads otherwise (%s): a backtick hidden in a character',
    async (_, options, before) => {
      // 0xE4 0xB8 0xAD is 中 in UTF-8; GBK reads 0xAD 0x60 as one character, eating the backtick, so
      // the server reads one alias up to the backtick the parser takes for the start of the last one,
      // then `CONCAT(ssn, '')`, which the parser takes for part of that alias.
      const output = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        const child = execFile(
          'mariadb',
          ['-h', '127.0.0.1', '-P', String(port), '-u', 'x', '-N', '-B', ...options],
          { timeout: 20_000, encoding: 'buffer' },
          (_error, stdout, stderr) =>
            resolve({ stdout: stdout.toString('latin1'), stderr: stderr.toString('latin1') }),
        );
        child.stdin?.end(
          Buffer.concat([
            Buffer.from(`${before}SELECT 1 AS \`x`),
            Buffer.from([0xe4, 0xb8, 0xad]),
            Buffer.from(
              "`, name FROM customers WHERE 0 UNION SELECT 1 AS `, CONCAT(ssn, '') FROM customers -- `\n",
            ),
          ]),
        );
      });
      expect(leaks(output.stdout + output.stderr)).toEqual([]);
      expect(output.stderr).toMatch(/ERROR 1142 \(42000\).*non-ASCII character/);
    },
  );

  it.each([
    // MariaDB skips a versioned comment above its version, and a MySQL-5.7-era one (50700-99999).
    "SELECT a FROM (SELECT CONCAT(ssn, '') /*!99999 AS x, name */ AS a FROM customers) d",
    "SELECT a FROM (SELECT CONCAT(ssn, '') /*!999999 AS x, name */ AS a FROM customers) d",
    "SELECT a FROM (SELECT CONCAT(card, '') /*M!999999 AS x, name */ AS a FROM customers) d",
    "SELECT a FROM (SELECT CONCAT(ssn, '') /*!57000 AS x, name */ AS a FROM customers) d",
    // A skipped versioned comment may hold one nested comment: it ends at the second `*/`.
    "SELECT a FROM (SELECT CONCAT(ssn, '') AS a /*!999999 /* */, name AS a */ FROM customers) d",
  ])('reads versioned executable comments as the server does: %s', async (sql) => {
    const [answer] = await session([sql]);
    expect(leaks(answer?.text ?? '')).toEqual([]);
    if (!answer?.sqlState) expect(answer?.text).toMatch(/\*{8}|null/);
  });

  it('runs versioned executable comments the server runs, and skips those it skips', async () => {
    const answers = await session([
      'SELECT 1 /*!+ 1 */ AS n',
      'SELECT 1 /*!50000 + 1 */ AS n',
      'SELECT 1 /*!99999 + 1 */ AS n',
      'SELECT 1 /*M!100000 + 1 */ AS n',
      'SELECT 1 /*!999999 + 1 */ AS n',
    ]);
    expect(answers.map((a) => a.text)).toEqual([
      '[{"n":2}]',
      '[{"n":2}]',
      '[{"n":1}]',
      '[{"n":2}]',
      '[{"n":1}]',
    ]);
  });

  it('denies DDL that moves masked values under names no rule covers, and allows it elsewhere', async () => {
    const answers = await session([
      'ALTER TABLE customers RENAME COLUMN ssn TO tax_id',
      'RENAME TABLE customers TO people',
      'ALTER TABLE customers RENAME TO people',
      'ALTER TABLE customers MODIFY ssn INT',
      'CREATE UNIQUE INDEX by_card ON customers (card)',
      'ALTER TABLE scratch RENAME COLUMN note TO remark',
      'SELECT remark FROM scratch WHERE id = 1',
      'ALTER TABLE scratch RENAME COLUMN remark TO note',
    ]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    for (const answer of answers.slice(0, 5)) {
      expect(answer).toMatchObject({ sqlState: '42000' });
      expect(answer.text).toMatch(/masking rule "pii"/);
    }
    expect(answers[6]?.text).toBe('[{"remark":"one"}]');
    expect(db.sql('SELECT ssn FROM customers WHERE id = 1').trim()).toBe(SSN[0]);
  });

  it("masks whole what a table whose rows are another table's (MERGE) returns", async () => {
    const answers = await session([
      "SELECT CONCAT(secret, '') AS s, id FROM vault_all",
      'SELECT secret FROM vault_all',
    ]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(JSON.parse(answers[0]?.text ?? '')).toEqual([{ s: '********', id: 0 }]);
  });

  it('keeps diagnostics and plans that quote values out of reach under masking', async () => {
    const answers = await session([
      'SELECT CAST(ssn AS SIGNED) AS n FROM customers',
      'SHOW WARNINGS',
      'SHOW ERRORS',
      'GET DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT',
      'EXPLAIN EXTENDED SELECT ssn FROM customers WHERE id = 1',
      'EXPLAIN FORMAT=JSON SELECT b.id FROM customers a JOIN customers b ON b.name = a.ssn WHERE a.id = 1',
      'ANALYZE FORMAT=JSON SELECT b.id FROM customers a JOIN customers b ON b.name = a.ssn WHERE a.id = 1',
      'SELECT ssn FROM customers PROCEDURE ANALYSE()',
      "SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT CONCAT(\"ssn\", '') FROM customers",
    ]);
    expect(leaks(JSON.stringify(answers))).toEqual([]);
    expect(JSON.parse(answers[0]?.text ?? '')).toEqual([{ n: 0 }, { n: 0 }]);
    for (const answer of answers.slice(1)) expect(answer).toMatchObject({ sqlState: '42000' });
  });

  it('denies UPDATE and DELETE whose WHERE every row passes, and runs restricting ones', async () => {
    const answers = await session([
      'DELETE FROM scratch WHERE 1',
      'DELETE FROM scratch WHERE NOT FALSE',
      'UPDATE scratch SET note = 1 WHERE TRUE OR id = 1',
      'UPDATE scratch SET note = 1 WHERE id = id',
      'DELETE FROM scratch WHERE id < 5 OR id >= 5',
      'DELETE FROM scratch WHERE (SELECT 1)',
      "DELETE FROM scratch WHERE note LIKE '%'",
      'DELETE FROM scratch LIMIT 1',
      'DELETE FROM scratch WHERE id = 1 OR NULL IS NULL',
      "UPDATE scratch SET note = 'uno' WHERE id = 1",
    ]);
    for (const answer of answers.slice(0, 9)) expect(answer).toMatchObject({ sqlState: '42000' });
    expect(answers[9]?.text).toMatch(/"affectedRows":1/);
    expect(db.sql('SELECT COUNT(*) FROM scratch').trim()).toBe('2');
  });
});
