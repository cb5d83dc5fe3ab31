import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Masker } from '@tollgate/masking';
import { runPsql, startPostgresCluster, type PostgresCluster } from '@tollgate/testing';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FrontendMessage } from '../frontend-messages';
import { serializeStartupPacket } from '../frontend-message.serializer';
import { PolicyGate } from '../test-support/policy-gate';
import { errorOf, rawClient as rawClientOn } from '../test-support/raw-client';
import { serveSessions } from '../test-support/session-server';
import { refusal, testPolicy } from '../test-support/sql-test-helpers';
import { CancelRegistry } from './cancel-registry';

const policy = testPolicy;

const GUARDED = policy(`version: 1
guardrails:
  - name: no-drop
    deny: {statements: [DROP, TRUNCATE]}
  - name: where-please
    require_where: [UPDATE, DELETE]
`);
const OPEN = policy('version: 1\n');
const NO_DELETE = policy(`version: 1
guardrails:
  - {name: no-delete, deny: {statements: [DELETE]}}
`);

/**
 * What guardrails cannot see, against a real server: opaque code is denied and nothing it would have
 * done happens (checked on the server directly), WHEREs that restrict nothing count as none, EXECUTE
 * is decided on what was prepared, and start-up parameters reach the server or are decided as SETs.
 */
describe('PostgreSQL opaque code, require_where and start-up parameters (real server)', () => {
  let cluster: PostgresCluster;
  let server: Awaited<ReturnType<typeof serveSessions>>;
  let port: number;
  let gate: PolicyGate;

  const onServer = (sql: string) => cluster.sql(sql, 'app').trim();
  const client = async (options: pg.ClientConfig = {}) => {
    const c = new pg.Client({ host: '127.0.0.1', port, user: 'whoever', database: 'whatever', ...options });
    await c.connect();
    return c;
  };
  const psql = (args: string[], env: Record<string, string> = {}) => runPsql(port, args, { env });
  /** Asserts a policy denial (SQLSTATE 42501) whose message matches. */
  const expectDenied = (error: { code?: string; message: string } | undefined, message: RegExp | string) => {
    expect(error?.code).toBe('42501');
    expect(error?.message).toMatch(message);
  };
  const rawClient = () => rawClientOn(port);
  const bindExecute = (statement: string): FrontendMessage[] => [
    { name: 'bind', portal: '', statement, parameterFormats: [], parameters: [], resultFormats: [] },
    { name: 'execute', portal: '', maxRows: 0 },
    { name: 'sync' },
  ];

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    cluster.sql(
      `CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int);
       INSERT INTO accounts SELECT g, 'owner' || g, 100 FROM generate_series(1, 5) g;
       ALTER TABLE accounts OWNER TO tg_scram;
       GRANT CREATE ON SCHEMA public TO tg_scram;`,
      'app',
    );
    const target = cluster.target();
    const masker = Masker.compile([]);
    const cancels = new CancelRegistry();
    server = await serveSessions(() => ({ target, gate, masker, cancels }));
    port = server.port;
  });
  afterAll(async () => {
    await server?.close();
    cluster?.stop();
  });
  beforeEach(() => {
    gate = new PolicyGate(GUARDED);
  });

  it('denies opaque code under guardrails; the server never runs it', async () => {
    const c = await client();
    try {
      const attempts: [string, RegExp][] = [
        [`DO $$ BEGIN EXECUTE 'DROP TABLE accounts'; END $$`, /^DO is opaque code/],
        [
          `CREATE FUNCTION wipe() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'TRUNCATE accounts'; END $$`,
          /^CREATE FUNCTION is opaque code/,
        ],
        [
          `CREATE PROCEDURE wipe2() LANGUAGE sql AS $$ DELETE FROM accounts $$`,
          /^CREATE PROCEDURE is opaque code/,
        ],
        [`CALL wipe2()`, /^CALL is opaque code/],
        [
          `SELECT query_to_xml('DELETE FROM accounts RETURNING id', true, false, '')`,
          /^SELECT calling a function that runs a query string/,
        ],
        [`SET search_path = public, pg_catalog`, /^SET of a setting that loads code/],
        [`COPY accounts TO PROGRAM 'cat > /dev/null'`, /^COPY \.\.\. PROGRAM is opaque code/],
        [`EXECUTE never_prepared`, /^EXECUTE of a statement this session did not prepare/],
        [
          `CREATE TRIGGER t BEFORE INSERT ON accounts FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()`,
          /^CREATE TRIGGER is opaque code/,
        ],
      ];
      for (const [sql, message] of attempts) {
        const error = await refusal(c, sql);
        expectDenied(error, message);
        expect(error?.message).toContain('denied by policy rule "no-drop"');
      }
      expect(onServer('SELECT count(*) FROM accounts')).toBe('5');
      expect(onServer(`SELECT count(*) FROM pg_proc WHERE proname IN ('wipe', 'wipe2')`)).toBe('0');
      expect(onServer(`SELECT count(*) FROM pg_trigger WHERE tgrelid = 'accounts'::regclass`)).toBe('0');
      // The session goes on.
      expect((await c.query('SELECT count(*)::int AS n FROM accounts')).rows).toEqual([{ n: 5 }]);
    } finally {
      await c.end();
    }
  });

  it('runs opaque code a guardrail allows by name, and only that kind', async () => {
    gate = new PolicyGate(
      policy(`version: 1
guardrails:
  - {name: no-drop, deny: {statements: [DROP]}}
  - {name: code-ok, allow: {opaque: [DO]}}
`),
    );
    const c = await client();
    try {
      await c.query(`DO $$ BEGIN UPDATE accounts SET balance = balance + 1 WHERE id = 1; END $$`);
      expect(onServer('SELECT balance FROM accounts WHERE id = 1')).toBe('101');
      expectDenied(await refusal(c, `CALL nothing()`), /^CALL is opaque/);
    } finally {
      await c.query('UPDATE accounts SET balance = 100 WHERE id = 1');
      await c.end();
    }
  });

  it('denies a fast-path function call (psql \\lo_import); no large object is created', async () => {
    const file = join(tmpdir(), `tollgate-lo-${process.pid}.txt`);
    writeFileSync(file, 'secret payload');
    const result = await psql(['-c', `\\lo_import '${file}'`]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('a fast-path function call is opaque code');
    expect(onServer('SELECT count(*) FROM pg_largeobject_metadata')).toBe('0');
    expect(
      gate.decisions.some((d) => d.startsWith('deny function-call: /* fast-path function call */')),
    ).toBe(true);
  });

  it('treats a WHERE that restricts nothing as no WHERE; nothing is deleted or updated', async () => {
    const c = await client();
    try {
      for (const sql of [
        'DELETE FROM accounts WHERE true',
        'DELETE FROM accounts WHERE id = id',
        'DELETE FROM accounts WHERE id = 3 OR 1 = 1',
        'UPDATE accounts SET balance = 0 WHERE id IS NOT NULL',
        "UPDATE accounts SET balance = 0 WHERE owner LIKE '%'",
        'DELETE FROM accounts WHERE id IN (SELECT id FROM accounts)',
        'DELETE FROM accounts WHERE id < 3 OR id >= 3',
        'DELETE FROM accounts WHERE EXISTS (SELECT 1)',
      ]) {
        expectDenied(
          await refusal(c, sql),
          /^(DELETE|UPDATE) without a WHERE clause that restricts its rows is denied by policy rule "where-please"$/,
        );
      }
      expect(onServer('SELECT count(*), sum(balance) FROM accounts')).toBe('5|500');
      await c.query('UPDATE accounts SET balance = 99 WHERE id = $1', [5]);
      expect(onServer('SELECT balance FROM accounts WHERE id = 5')).toBe('99');
    } finally {
      await c.query('UPDATE accounts SET balance = 100 WHERE id = 5');
      await c.end();
    }
  });

  it('decides EXECUTE on what was prepared, under the policy in force at EXECUTE', async () => {
    gate = new PolicyGate(OPEN);
    const c = await client();
    try {
      await c.query('PREPARE wipe AS DELETE FROM accounts WHERE id = 4');
      // A new policy version arrives between PREPARE and EXECUTE.
      gate.policy = NO_DELETE;
      expect(await refusal(c, 'EXECUTE wipe')).toEqual({
        code: '42501',
        message: 'DELETE is denied by policy rule "no-delete"',
      });
      expect(await refusal(c, 'CREATE TABLE copy AS EXECUTE wipe')).toMatchObject({ code: '42501' });
      expect(onServer('SELECT count(*) FROM accounts WHERE id = 4')).toBe('1');
      // A PREPARE the policy denies never reaches the server, so its EXECUTE has nothing to run:
      // it is opaque code (unknown name) and denied too.
      expect(await refusal(c, 'PREPARE wipe2 AS DELETE FROM accounts WHERE id = 4')).toMatchObject({
        code: '42501',
      });
      gate.policy = GUARDED;
      expectDenied(await refusal(c, 'EXECUTE wipe2'), /^EXECUTE of a statement this session did not prepare/);
      gate.policy = OPEN;
      expect((await c.query('EXECUTE wipe')).rowCount).toBe(1);
      expect(onServer('SELECT count(*) FROM accounts WHERE id = 4')).toBe('0');
    } finally {
      await c.query("INSERT INTO accounts VALUES (4, 'owner4', 100) ON CONFLICT DO NOTHING");
      await c.end();
    }
  });

  it('decides a protocol Bind of a statement SQL prepared, and SQL EXECUTE of one a Parse prepared, on what runs', async () => {
    gate = new PolicyGate(OPEN);
    const raw = await rawClient();
    try {
      // Prepared by SQL, run by the extended protocol (the server shares one namespace).
      expect(
        errorOf(
          await raw.send({ name: 'query', text: 'PREPARE sqlwipe AS DELETE FROM accounts WHERE id = 2' }),
        ),
      ).toBeUndefined();
      gate.policy = NO_DELETE;
      expect(errorOf(await raw.send(...bindExecute('sqlwipe')))).toEqual({
        code: '42501',
        message: 'DELETE is denied by policy rule "no-delete"',
      });
      expect(gate.decisions.at(-1)).toBe('deny execute: EXECUTE "sqlwipe"');
      // Prepared by a Parse, run by SQL EXECUTE.
      gate.policy = OPEN;
      const parsed = await raw.send(
        {
          name: 'parse',
          statement: 'protowipe',
          text: 'DELETE FROM accounts WHERE id = 3',
          parameterTypeIds: [],
        },
        { name: 'sync' },
      );
      expect(errorOf(parsed)).toBeUndefined();
      gate.policy = NO_DELETE;
      expect(errorOf(await raw.send({ name: 'query', text: 'EXECUTE protowipe' }))).toMatchObject({
        code: '42501',
      });
      // A Parse under a name SQL already uses is refused by the server; a Bind after it is still
      // decided on what the name really runs, not on the refused Parse's text.
      const clash = await raw.send(
        { name: 'parse', statement: 'sqlwipe', text: 'SELECT 1', parameterTypeIds: [] },
        { name: 'sync' },
      );
      expect(errorOf(clash)?.code).toBe('42P05');
      expect(errorOf(await raw.send(...bindExecute('sqlwipe')))).toMatchObject({ code: '42501' });
      // A statement the session never saw prepared: the server has none to bind (26000), and an
      // EXECUTE of it is opaque code under guardrails.
      gate.policy = GUARDED;
      expect(errorOf(await raw.send(...bindExecute('made_elsewhere')))?.code).toBe('26000');
      expect(errorOf(await raw.send({ name: 'query', text: 'EXECUTE made_elsewhere' }))?.message).toMatch(
        /^EXECUTE of a statement this session did not prepare/,
      );
      expect(onServer('SELECT count(*) FROM accounts WHERE id IN (2, 3)')).toBe('2');
      // Freed and prepared again as something harmless: that is what runs.
      gate.policy = OPEN;
      await raw.send({ name: 'query', text: 'DEALLOCATE sqlwipe; PREPARE sqlwipe AS SELECT 1' });
      gate.policy = NO_DELETE;
      expect(errorOf(await raw.send(...bindExecute('sqlwipe')))).toBeUndefined();
    } finally {
      raw.end();
    }
  });

  it('cannot be fooled by standard_conforming_strings = off (the server would read a DROP in a string)', async () => {
    const c = await client();
    try {
      await c.query('SET standard_conforming_strings = off');
      // With standard strings the parser sees one string literal; the server, without, sees a DROP.
      const attack = "SELECT 'x\\'' ; DROP TABLE accounts; -- '";
      expectDenied(await refusal(c, attack), 'standard_conforming_strings is off in this session');
      expect(onServer(`SELECT count(*) FROM pg_tables WHERE tablename = 'accounts'`)).toBe('1');
      // Text without a backslash reads the same either way and goes on as usual.
      expect((await c.query('SELECT count(*)::int AS n FROM accounts')).rows).toEqual([{ n: 5 }]);
      await c.query('SET standard_conforming_strings = on');
      expect((await c.query("SELECT 'a\\b' AS s")).rows).toEqual([{ s: 'a\\b' }]);
    } finally {
      await c.end();
    }
  });

  it('forwards start-up parameters, options included, and answers with the server ParameterStatus', async () => {
    gate = new PolicyGate(OPEN);
    const result = await psql(
      ['-c', 'SHOW intervalstyle', '-c', 'SHOW datestyle', '-c', 'SHOW timezone', '-c', 'SHOW work_mem'],
      {
        PGOPTIONS: '-c intervalstyle=iso_8601 --work-mem=3MB',
        PGDATESTYLE: 'Postgres, MDY',
        PGTZ: 'America/Los_Angeles',
      },
    );
    expect(result).toMatchObject({ code: 0, stdout: 'iso_8601\nPostgres, MDY\nAmerica/Los_Angeles\n3MB\n' });
    // node-postgres reads DateStyle from the ParameterStatus the server sent for the client's setting.
    const c = await client({ options: '-c DateStyle=SQL,DMY' });
    try {
      expect((await c.query("SELECT '2024-03-01'::date::text AS d")).rows).toEqual([{ d: '01/03/2024' }]);
    } finally {
      await c.end();
    }
    // Presentation settings need no decision; work_mem was decided as the SET it amounts to.
    expect(gate.decisions.filter((d) => d.includes('start-up'))).toEqual([
      "allow startup: /* start-up parameters */ SET work_mem TO '3MB'",
    ]);
  });

  it('decides start-up settings like SETs: opaque ones are refused before the target is reached', async () => {
    const before = Number(onServer("SELECT count(*) FROM pg_stat_activity WHERE usename = 'tg_scram'"));
    const result = await psql(['-c', 'SELECT 1'], { PGOPTIONS: '-c search_path=public,pg_catalog' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'SET of a setting that loads code or lets functions shadow built-in ones is opaque code',
    );
    const preload = await psql(['-c', 'SELECT 1'], { PGOPTIONS: '-c local_preload_libraries=anything' });
    expect(preload.stderr).toContain('FATAL:  start-up parameters refused: SET of a setting that loads code');
    // Nor through an options switch that sets `options`: the target would read its value as switches.
    const nested = await psql(['-At', '-c', 'SHOW search_path'], {
      PGOPTIONS: '-c options=-c\\ search_path=public,pg_catalog',
    });
    expect(nested.stdout).not.toContain('pg_catalog');
    expect(nested.stderr).toContain('start-up option "-c options=..." sets options, which is not a setting');
    const unreadable = await psql(['-c', 'SELECT 1'], { PGOPTIONS: '-e' });
    expect(unreadable.stderr).toContain(
      'start-up option "-e" is not supported through Tollgate (use -c name=value)',
    );
    expect(Number(onServer("SELECT count(*) FROM pg_stat_activity WHERE usename = 'tg_scram'"))).toBe(before);
  });

  it('refuses a replication connection with a clear error', async () => {
    const socket = connect(port, '127.0.0.1');
    const answer = await new Promise<string>((resolve) => {
      let data = '';
      socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
      socket.on('close', () => resolve(data));
      socket.write(
        serializeStartupPacket({
          name: 'startupMessage',
          protocolVersion: 196608,
          parameters: { user: 'me', database: 'app', replication: 'database' },
        }),
      );
    });
    expect(answer).toContain('0A000');
    expect(answer).toContain('replication connections are not supported through Tollgate');
  });
});
