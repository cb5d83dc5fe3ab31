import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { Masker } from '@tollgate/masking';
import { maskingRulesFor, parsePolicy } from '@tollgate/policy';
import { createMariadbDatabase, mariadbRoot, type MariadbTestDatabase } from '@tollgate/testing';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MariadbCapability, ServerStatus } from '../capabilities';
import { PayloadReader } from '../payload';
import { isOkPacket } from '../response-packets';
import { BinaryClient } from '../test-support/binary-client';
import { PolicyGate } from '../test-support/policy-gate';
import { listenOnLoopback, nativeUserTarget } from '../test-support/session-server';
import type { StatementOutcome } from './command-gate';
import { runMysqlSession } from './mysql-session';
import type { MysqlTargetSettings } from './target-settings';

const POLICY = `version: 1
guardrails:
  - name: no-drop
    match: {protocol: mysql}
    deny: {statements: [DROP, TRUNCATE], message: dropping tables is not allowed here}
  - name: where-please
    require_where: [UPDATE, DELETE]
masking:
  - name: pii
    detectors: [email]
    columns: [customers.ssn]
`;

const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
const connection = { name: 'my-test', protocol: 'mysql', tags: { env: 'test' } };

describe('MySQL session engine against the machine MariaDB', () => {
  let db: MariadbTestDatabase;
  let server: Server;
  let port: number;
  let gate: PolicyGate;
  let target: MysqlTargetSettings;
  let execMode = false;
  const outcomes: StatementOutcome[] = [];
  const policy = (() => {
    const parsed = parsePolicy(POLICY, 'test.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.policy;
  })();
  const rules = maskingRulesFor(policy, { subject, connection });
  const masker = Masker.compile([{ detectors: rules.detectors, columns: rules.columns }]);

  /** The mariadb CLI through the proxy: no password, any user name. */
  const mariadb = (sql: string, extra: string[] = []) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        'mariadb',
        ['-h', '127.0.0.1', '-P', String(port), '-u', 'whoever', '-N', '-B', ...extra],
        { timeout: 20_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(sql);
    });
  const nodeClient = () =>
    mysql.createConnection({ host: '127.0.0.1', port, user: 'whoever', multipleStatements: true });

  beforeAll(async () => {
    db = createMariadbDatabase();
    // Packets of 16 MiB and more need a server that takes them (the default is 16 MiB).
    if (Number(db.sql('SELECT @@GLOBAL.max_allowed_packet')) < 64 * 1024 * 1024) {
      db.sql('SET GLOBAL max_allowed_packet = 67108864');
    }
    db.sql(
      `CREATE TABLE customers (id int PRIMARY KEY, name varchar(40), email varchar(80), ssn varchar(20), age int);
       INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', '123-45-6789', 36), (2, 'Bob', 'bob@example.org', '234-56-7890', 41);
       CREATE TABLE scratch (id int, note text);`,
    );
    target = nativeUserTarget(db);
    server = createServer((socket) => {
      void runMysqlSession(socket, {
        target,
        gate,
        masker,
        onStatement: (o) => outcomes.push(o),
        exec: execMode,
      });
    });
    port = await listenOnLoopback(server);
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    db?.drop();
  });
  beforeEach(() => {
    gate = new PolicyGate(policy);
    outcomes.length = 0;
    execMode = false;
    target = { ...target, username: db.users.native };
  });

  it('logs in to the target with mysql_native_password and runs the mariadb CLI with no password', async () => {
    const result = await mariadb('SELECT CURRENT_USER(), DATABASE(); SELECT name FROM customers ORDER BY id');
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe(`${db.users.native}@%\t${db.name}\nAda\nBob\n`);
  });

  it('logs in with ed25519', async () => {
    target = { ...target, username: db.users.ed25519 };
    const result = await mariadb('SELECT CURRENT_USER()');
    expect(result.stdout).toBe(`${db.users.ed25519}@%\n`);
  });

  it('tells the client when the target refuses the login, in an ERR packet', async () => {
    target = { ...target, password: 'wrong' };
    const result = await mariadb('SELECT 1');
    target = { ...target, password: db.password };
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /ERROR 1045 \(28000\).*tollgate: the target refused the login: Access denied/,
    );
  });

  it('denies by policy with SQLSTATE 42000 and the rule message, and the session goes on', async () => {
    const result = await mariadb('DROP TABLE scratch; SELECT 41 + 1', ['--force']);
    expect(result.stderr).toMatch(/ERROR 1142 \(42000\).*dropping tables is not allowed here/);
    expect(result.stdout).toBe('42\n');
    expect(db.sql("SHOW TABLES LIKE 'scratch'").trim()).toBe('scratch');
  });

  it('masks column rules and detectors in text and binary rows', async () => {
    const client = await nodeClient();
    try {
      const [text] = await client.query('SELECT c.ssn AS s, email, age FROM customers c ORDER BY id');
      const [binary] = await client.execute('SELECT ssn, email, age FROM customers WHERE id = ?', [1]);
      expect(text).toEqual([
        { s: '********', email: 'a***@***.com', age: 36 },
        { s: '********', email: 'b***@***.org', age: 41 },
      ]);
      expect(binary).toEqual([{ ssn: '********', email: 'a***@***.com', age: 36 }]);
    } finally {
      await client.end();
    }
    expect(outcomes.map((o) => o.masked.join(','))).toContain('column:customers.ssn,email');
  });

  it("relays MariaDB's extended metadata (format=json) to a client that negotiated it, masking rows read in that layout", async () => {
    // The mariadb CLI negotiates MARIADB_CLIENT_EXTENDED_METADATA and prints it with --column-type-info.
    const query = "SELECT JSON_OBJECT('id', id) AS j, email, ssn FROM customers WHERE id = 1";
    const through = await mariadb(query, ['-t', '--column-type-info']);
    expect(through.stderr).toBe('');
    expect(through.stdout).toMatch(/Field +1: +`j`[\s\S]*?Type: +\w+ \(format=json\)/);
    expect(through.stdout).toMatch(/\| \{"id": 1\} \| a\*\*\*@\*\*\*\.com \| \*{8} \|/);
    // Binary rows of a prepared statement, whose parameter and column definitions come in that layout too.
    const client = await BinaryClient.connect(port, {
      mariadbCapabilities: MariadbCapability.EXTENDED_METADATA,
    });
    try {
      expect(client.greeting.mariadbCapabilities & MariadbCapability.EXTENDED_METADATA).not.toBe(0);
      const statement = await client.prepare(
        'SELECT JSON_OBJECT(?, id) AS j, ssn, email FROM customers WHERE id = 2',
      );
      const result = await client.execute(statement.id, [{ text: 'k' }]);
      expect(result?.columns.map((c) => [c.name, c.extended])).toEqual([
        ['j', { formatName: 'json' }],
        ['ssn', {}],
        ['email', {}],
      ]);
      expect(result?.rows.map((row) => row.map((v) => v?.toString()))).toEqual([
        ['{"k": 2}', '********', 'b***@***.org'],
      ]);
    } finally {
      client.end();
    }
  });

  it('relays a read-only cursor: EXECUTE opens it, COM_STMT_FETCH reads it in steps, each fetched row masked', async () => {
    const client = await BinaryClient.connect(port);
    try {
      const statement = await client.prepare('SELECT id, ssn, email FROM customers WHERE id > ? ORDER BY id');
      const opened = await client.execute(statement.id, [{ text: '0' }], true);
      expect(opened?.rows).toEqual([]);
      expect(opened!.status & ServerStatus.CURSOR_EXISTS).not.toBe(0);
      const columns = opened!.columns;
      const first = await client.fetch(statement.id, columns, 1);
      // Binary rows: id is a 4-byte integer, the strings are as shown.
      const shown = (row: (Buffer | null)[]) => [row[0]!.readInt32LE(0), String(row[1]), String(row[2])];
      expect(first.rows.map(shown)).toEqual([[1, '********', 'a***@***.com']]);
      expect(first.status & ServerStatus.LAST_ROW_SENT).toBe(0);
      const rest = await client.fetch(statement.id, columns, 10);
      expect(rest.rows.map(shown)).toEqual([[2, '********', 'b***@***.org']]);
      expect(rest.status & ServerStatus.LAST_ROW_SENT).not.toBe(0);
      // Executed again, the cursor reads the table as it is now.
      await client.execute(statement.id, [{ text: '1' }], true);
      expect((await client.fetch(statement.id, columns, 5)).rows.map(shown)).toEqual([
        [2, '********', 'b***@***.org'],
      ]);
    } finally {
      client.end();
    }
    expect(gate.decisions.filter((d) => d.startsWith('allow execute:'))).toHaveLength(2);
  });

  it('takes a parameter sent in parts by COM_STMT_SEND_LONG_DATA; a refused statement has no id to send data to', async () => {
    const client = await BinaryClient.connect(port);
    // Up to what a TEXT column holds (65,535 bytes), in two parts.
    const note = `${'long data '.repeat(6_000)}end`;
    try {
      const insert = await client.prepare('INSERT INTO scratch (id, note) VALUES (?, ?)');
      client.sendLongData(insert.id, 1, note.slice(0, 30_000));
      client.sendLongData(insert.id, 1, note.slice(30_000));
      expect(await client.execute(insert.id, [{ text: '77' }, { long: true }])).toBeUndefined();
      // A statement the policy refuses is refused at PREPARE: it gets no id to send data to, and data
      // for an id the session does not know is dropped (as the server drops it), the session going on.
      await expect(client.prepare('UPDATE scratch SET note = ?')).rejects.toThrow(/tollgate: .*WHERE/);
      client.sendLongData(insert.id + 1000, 0, 'overwritten');
      const count = await client.prepare('SELECT COUNT(*) FROM scratch WHERE id = 77');
      expect((await client.execute(count.id, []))?.rows).toHaveLength(1);
    } finally {
      client.end();
    }
    expect(db.sql('SELECT LENGTH(note), RIGHT(note, 3) FROM scratch WHERE id = 77').trim()).toBe(
      `${note.length}\tend`,
    );
    db.sql('DELETE FROM scratch WHERE id = 77');
  });

  it('relays multiple result sets, prepared statements and a 16 MiB+ value', async () => {
    const client = await nodeClient();
    try {
      const [sets] = await client.query(
        'SELECT 1 AS a; SELECT 2 AS b; UPDATE scratch SET note = note WHERE id = 0',
      );
      expect(sets).toMatchObject([[{ a: 1 }], [{ b: 2 }], { affectedRows: 0 }]);
      const big = 'x'.repeat(17 * 1024 * 1024);
      const [rows] = await client.execute('SELECT LENGTH(?) AS n', [big]);
      expect(rows).toEqual([{ n: big.length }]);
      const [echo] = await client.query('SELECT REPEAT(?, 17825792) AS r', ['y']);
      expect((echo as { r: string }[])[0]?.r.length).toBe(17825792);
    } finally {
      await client.end();
    }
  });

  it('refuses COM_CHANGE_USER in-protocol and keeps the session; ping, USE and prepared statements work', async () => {
    const client = await nodeClient();
    try {
      await expect(client.changeUser({ user: 'root' })).rejects.toThrow(/COM_CHANGE_USER is refused/);
      await client.ping();
      const [rows] = await client.query('SELECT CURRENT_USER() AS u');
      expect(rows).toEqual([{ u: `${db.users.native}@%` }]);
      const statement = await client.prepare('SELECT id FROM customers WHERE id = ?');
      expect((await statement.execute([2]))[0]).toEqual([{ id: 2 }]);
      await statement.close();
    } finally {
      await client.end();
    }
    // The CLI's `use` is COM_INIT_DB, decided as USE.
    const use = await mariadb(`use ${db.name}\nSELECT DATABASE();\n`);
    expect(use.stdout).toBe(`${db.name}\n`);
    expect(gate.decisions).toContain(`allow init-db: USE \`${db.name}\``);
  });

  it('decides and records COM_RESET_CONNECTION: one the audit cannot record never resets the session', async () => {
    const client = await nodeClient();
    try {
      await client.query('SET @kept = 42');
      await client.reset();
      expect(gate.decisions).toContain('allow reset-connection: COM_RESET_CONNECTION');
      expect(outcomes.map((o) => o.text)).toContain('COM_RESET_CONNECTION');
      await client.query('SET @kept = 42');
      // The agent's gate when its journal cannot be written: nothing reaches the server.
      const decide = gate.decide.bind(gate);
      gate.decide = () =>
        Promise.resolve({
          allow: false,
          message: "the agent's audit journal could not be written (ENOSPC), so the command was not run",
        });
      await expect(client.reset()).rejects.toThrow(/audit journal could not be written/);
      gate.decide = decide;
      const [rows] = await client.query('SELECT @kept AS v');
      expect(rows).toEqual([{ v: 42 }]);
    } finally {
      await client.end();
    }
  });

  it('tells a client that reads progress reports why its command is held (MariaDB progress report), then answers in sequence', async () => {
    const held = parsePolicy(
      `version: 1
guardrails:
  - name: reviewed-updates
    require_approval: {statements: [UPDATE], approvers: ['group:dba'], message: updates need a DBA}
`,
      'held.yaml',
    );
    if (!held.ok) throw new Error(JSON.stringify(held.errors));
    const run = async (mariadbCapabilities: number) => {
      gate.policy = held.policy;
      const client = await BinaryClient.connect(port, { mariadbCapabilities });
      try {
        client.query("UPDATE scratch SET note = 'held' WHERE id = 5");
        const first = client.next();
        // Nothing is answered until the review decides; then the reply follows.
        await expect.poll(() => gate.approve !== undefined).toBe(true);
        const approve = gate.approve!;
        gate.approve = undefined;
        // With progress reports the message is there before the approval; without, nothing is.
        if (mariadbCapabilities === 0) {
          approve({ allow: true });
          return [await first];
        }
        const progress = await first;
        approve({ allow: true });
        return [progress, await client.next()];
      } finally {
        client.end();
        gate.policy = policy;
      }
    };
    const [progress, ok] = await run(MariadbCapability.PROGRESS);
    expect(progress!.payload[0]).toBe(0xff);
    expect(progress!.payload.readUInt16LE(1)).toBe(0xffff);
    const report = new PayloadReader(progress!.payload.subarray(3), 'a progress report');
    expect([report.u8(), report.u8(), report.u8(), report.u24()]).toEqual([1, 1, 1, 0]);
    expect(report.lenencString()).toBe(
      'tollgate: updates need a DBA. Waiting for approval: review test-review.',
    );
    expect(progress!.sequenceId).toBe(1);
    expect(isOkPacket(ok!.payload)).toBe(true);
    expect(ok!.sequenceId).toBe(2);
    // A client that did not ask for progress reports gets the reply alone.
    const [only] = await run(0);
    expect(isOkPacket(only!.payload)).toBe(true);
    expect(only!.sequenceId).toBe(1);
  });

  it('an exec session runs one query, then refuses anything but COM_QUIT', async () => {
    execMode = true;
    const result = await mariadb('SELECT 1;\nSELECT 2;\n');
    expect(result.stdout).toBe('1\n');
    expect(result.stderr).toMatch(/tollgate: an exec session runs one query, then ends/);
  });

  it('mysqlslap runs its concurrent load through the proxy', async () => {
    const result = await new Promise<{ code: number; stderr: string; stdout: string }>((resolve) =>
      execFile(
        'mysqlslap',
        [
          '-h',
          '127.0.0.1',
          '-P',
          String(port),
          '-u',
          'whoever',
          '--create-schema',
          db.name,
          '--concurrency=4',
          '--iterations=2',
          '--number-of-queries=40',
          '--query=SELECT id, email FROM customers',
        ],
        { timeout: 30_000 },
        (error, stdout, stderr) => resolve({ code: error ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/Number of clients running queries: 4/);
  });

  it('stops the statement on the server when the client goes away mid-query', async () => {
    const client = await nodeClient();
    void client.query('SELECT SLEEP(20) AS gone_nap').catch(() => undefined);
    const find = () =>
      mariadbRoot(
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(20) AS gone_nap%'",
      ).trim();
    await expect.poll(find, { timeout: 10_000 }).toBe('1');
    client.destroy();
    await expect.poll(find, { timeout: 10_000 }).toBe('0');
  });

  it('reads backslashes as unparsed once the session may have set NO_BACKSLASH_ESCAPES', async () => {
    const client = await nodeClient();
    try {
      const [before] = await client.query("SELECT 'a\\\\b' AS v");
      expect(before).toEqual([{ v: 'a\\b' }]);
      await client.query("SET SESSION sql_mode = 'NO_BACKSLASH_ESCAPES'");
      // Under NO_BACKSLASH_ESCAPES the server ends this string at the backslash and runs the DROP.
      await expect(client.query("SELECT 'x\\'; DROP TABLE scratch; -- '")).rejects.toThrow(
        /could not be classified.*NO_BACKSLASH_ESCAPES/,
      );
    } finally {
      await client.end();
    }
    expect(db.sql("SHOW TABLES LIKE 'scratch'").trim()).toBe('scratch');
  });
});
