import { execFile, spawn } from 'node:child_process';
import { createServer, connect, type Server } from 'node:net';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { Masker } from '@tollgate/masking';
import { maskingRulesFor, parsePolicy } from '@tollgate/policy';
import { startPostgresCluster, type PostgresCluster } from '@tollgate/testing';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { serializeStartupPacket } from '../frontend-message.serializer';
import { CancelRegistry } from './cancel-registry';
import { PolicyGate } from '../test-support/policy-gate';
import type { StatementOutcome } from './command-gate';
import { runPostgresSession } from './postgres-session';
import type { PostgresTargetSettings } from './target-settings';

const run = promisify(execFile);

const POLICY = `version: 1
guardrails:
  - name: no-drop
    match: {protocol: postgres}
    deny: {statements: [DROP, TRUNCATE], message: dropping tables is not allowed here}
  - name: where-please
    require_where: [UPDATE, DELETE]
  - name: deletes-need-approval
    require_approval: {statements: [DELETE], approvers: ["group:dba"]}
masking:
  - name: pii
    detectors: [email, credit_card]
    columns: [customers.ssn]
`;

const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
const connection = { name: 'pg-test', protocol: 'postgres', tags: { env: 'test' } };

describe('PostgreSQL session engine against a real server (SCRAM, MD5, cleartext)', () => {
  let cluster: PostgresCluster;
  let server: Server;
  let port: number;
  let gate: PolicyGate;
  let target: PostgresTargetSettings;
  /** Sessions accepted while this is set run as `exec` sessions. */
  let execMode = false;
  const outcomes: StatementOutcome[] = [];
  const cancels = new CancelRegistry();
  const policy = (() => {
    const parsed = parsePolicy(POLICY, 'test.yaml');
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    return parsed.policy;
  })();
  const rules = maskingRulesFor(policy, { subject, connection });
  const masker = Masker.compile([{ detectors: rules.detectors, columns: rules.columns }]);

  const psql = (args: string[], input?: string) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        'psql',
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'whoever', '-d', 'whatever', '-X', '-At', ...args],
        {
          env: { ...process.env, PGPASSWORD: '', PGCONNECT_TIMEOUT: '10' },
        },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end(input ?? '');
    });
  const nodeClient = async (options: pg.ClientConfig = {}) => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'whoever',
      database: 'whatever',
      ...options,
    });
    await client.connect();
    return client;
  };

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    cluster.sql(
      `CREATE TABLE customers (id int PRIMARY KEY, name text, email text, ssn text, card text);
       INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', '123-45-6789', '4111 1111 1111 1111'),
                                    (2, 'Bob', 'bob@example.org', '234-56-7890', 'none');
       CREATE TABLE scratch (id int, note text);
       ALTER TABLE customers OWNER TO tg_scram; ALTER TABLE scratch OWNER TO tg_scram;`,
      'app',
    );
    target = {
      host: cluster.host,
      port: cluster.port,
      database: 'app',
      username: 'tg_scram',
      password: cluster.password,
      tls: { mode: 'disable' },
    };
    server = createServer((socket) => {
      void runPostgresSession(socket, {
        target,
        gate,
        masker,
        cancels,
        onStatement: (o) => outcomes.push(o),
        exec: execMode,
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    cluster?.stop();
  });
  beforeEach(() => {
    gate = new PolicyGate(policy);
    outcomes.length = 0;
  });

  it('logs psql in without a password and authenticates to the target with SCRAM', async () => {
    const result = await psql(['-c', 'select current_user, current_database()']);
    expect(result).toMatchObject({ code: 0, stdout: 'tg_scram|app\n' });
    expect(gate.decisions).toEqual(['allow query: select current_user, current_database()']);
  });

  it.each(['tg_md5', 'tg_clear'])('authenticates to the target as %s', async (username) => {
    target = { ...target, username };
    try {
      expect((await psql(['-c', 'select current_user'])).stdout).toBe(`${username}\n`);
    } finally {
      target = { ...target, username: 'tg_scram' };
    }
  });

  it('tells the client when the target refuses the credentials, without revealing them', async () => {
    target = { ...target, password: 'wrong password' };
    try {
      const result = await psql(['-c', 'select 1']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        'target authentication failed: password authentication failed for user "tg_scram"',
      );
      expect(result.stderr).not.toContain('wrong password');
    } finally {
      target = { ...target, password: cluster.password };
    }
  });

  it('denies a statement with SQLSTATE 42501 and the session goes on', async () => {
    const script = 'select 1;\ndrop table scratch;\nselect 2;\n';
    const result = await psql(['-v', 'VERBOSITY=verbose'], script);
    expect(result.stdout).toBe('1\n2\n');
    expect(result.stderr).toContain('ERROR:  42501: dropping tables is not allowed here');
    expect(result.stderr).not.toContain('inline_code_block');
    expect(cluster.sql("select count(*) from pg_tables where tablename = 'scratch'", 'app').trim()).toBe('1');
  });

  it('decides a multi-statement string as a whole', async () => {
    const result = await psql(['-c', "insert into scratch values (1, 'x'); drop table scratch"]);
    expect(result.code).toBe(1);
    expect(cluster.sql('select count(*) from scratch', 'app').trim()).toBe('0');
  });

  it('fails the surrounding transaction block like a server error would', async () => {
    const result = await psql([], 'begin;\ndrop table scratch;\nselect 1;\nrollback;\n');
    expect(result.stderr).toContain('current transaction is aborted');
  });

  it('denies what the parser cannot classify where a rule depends on it', async () => {
    const result = await psql(['-c', 'selec * from customers']);
    expect(result.code).toBe(1);
    expect(gate.decisions[0]).toBe('deny query: selec * from customers');
  });

  it('masks by content detector and by column, however the query names the column', async () => {
    const result = await psql([
      '-c',
      'select id, email, ssn, card, ssn as s, upper(email) from customers order by id',
    ]);
    expect(result.stdout.split('\n').slice(0, 2)).toEqual([
      '1|a***@***.com|********|**** **** **** 1111|********|A***@***.COM',
      '2|b***@***.org|********|none|********|B***@***.ORG',
    ]);
    expect(outcomes[0]).toMatchObject({ rows: 2 });
    expect(outcomes[0]?.masked).toEqual(
      expect.arrayContaining(['email', 'credit_card', 'column:customers.ssn']),
    );
  });

  it('masks text and binary results of prepared statements (node-postgres, extended protocol)', async () => {
    const client = await nodeClient();
    try {
      const text = await client.query({
        name: 'by-id',
        text: 'select email, ssn from customers where id = $1',
        values: [1],
      });
      expect(text.rows).toEqual([{ email: 'a***@***.com', ssn: '********' }]);
      // node-postgres asks for binary results with `binary: true` (not in its type definitions).
      const binary = await client.query<{ email: Buffer | string }>({
        text: 'select email, id from customers where id = $1',
        values: [2],
        binary: true,
      } as pg.QueryConfig);
      expect(binary.rows[0]?.email.toString()).toBe('b***@***.org');
      const again = await client.query({
        name: 'by-id',
        text: 'select email, ssn from customers where id = $1',
        values: [2],
      });
      expect(again.rows).toEqual([{ email: 'b***@***.org', ssn: '********' }]);
    } finally {
      await client.end();
    }
  });

  it('denies a prepared statement in the extended protocol and keeps the connection usable', async () => {
    const client = await nodeClient();
    try {
      await expect(client.query({ name: 'zap', text: 'truncate customers' })).rejects.toMatchObject({
        code: '42501',
        message: 'dropping tables is not allowed here',
      });
      expect((await client.query('select count(*)::int as n from customers')).rows).toEqual([{ n: 2 }]);
      await client.query('begin');
      await expect(client.query({ text: 'drop table customers', values: [] })).rejects.toMatchObject({
        code: '42501',
      });
      await expect(client.query('select 1')).rejects.toMatchObject({ code: '25P02' });
      await client.query('rollback');
    } finally {
      await client.end();
    }
  });

  it('decides and records each run of a prepared statement before it reaches the server', async () => {
    const client = await nodeClient();
    try {
      const insert = { name: 'note', text: 'insert into scratch values (4242, $1)' };
      await client.query({ ...insert, values: ['first'] });
      await client.query({ ...insert, values: ['second'] });
      // Parse covers the first run; the second (Bind/Execute only) was decided on its own.
      expect(gate.decisions.filter((d) => d.includes('insert into scratch'))).toEqual([
        'allow parse: insert into scratch values (4242, $1)',
        'allow execute: insert into scratch values (4242, $1)',
      ]);
      // The audit log stops taking records: the next run is refused and never reaches the server.
      const decide = gate.decide.bind(gate);
      gate.decide = async (command, notify) =>
        command.via === 'execute'
          ? { allow: false, message: 'the audit log could not record the command' }
          : decide(command, notify);
      await expect(client.query({ ...insert, values: ['unrecorded'] })).rejects.toMatchObject({
        code: '42501',
        message: 'the audit log could not record the command',
      });
      const notes = await client.query('select note from scratch where id = 4242 order by note');
      expect(notes.rows).toEqual([{ note: 'first' }, { note: 'second' }]);
    } finally {
      await client.end();
      cluster.sql('delete from scratch where id = 4242', 'app');
    }
  });

  it('holds a command that needs approval, with a NOTICE, and runs it exactly once when approved', async () => {
    cluster.sql("insert into scratch values (7, 'doomed'), (8, 'kept')", 'app');
    const client = await nodeClient();
    const notices: string[] = [];
    client.on('notice', (n) => notices.push(n.message ?? ''));
    try {
      const deleting = client.query('delete from scratch where id = 7');
      await expect.poll(() => notices.length).toBe(1);
      expect(notices[0]).toContain('"deletes-need-approval" requires approval');
      expect(cluster.sql('select count(*) from scratch', 'app').trim()).toBe('2');
      gate.approve?.({ allow: true });
      expect((await deleting).rowCount).toBe(1);
      expect(cluster.sql('select id from scratch', 'app').trim()).toBe('8');

      const rejected = client.query('delete from scratch where id = 8');
      await expect.poll(() => notices.length).toBe(2);
      gate.approve?.({ allow: false, message: 'rejected by bob: not today' });
      await expect(rejected).rejects.toMatchObject({ code: '42501', message: 'rejected by bob: not today' });
      expect(cluster.sql('select id from scratch', 'app').trim()).toBe('8');
    } finally {
      await client.end();
      cluster.sql('delete from scratch', 'app');
    }
  });

  it('requires a WHERE for UPDATE (policy require_where)', async () => {
    const result = await psql(['-c', "update customers set name = 'x'"]);
    expect(result.code).toBe(1);
    expect(cluster.sql("select count(*) from customers where name = 'x'", 'app').trim()).toBe('0');
  });

  it("counts a MERGE's UPDATE and DELETE actions under require_where; nothing changes", async () => {
    for (const sql of [
      'merge into scratch s using (select 1) x on true when matched then delete',
      "merge into customers c using customers d on c.id = d.id when matched then update set name = 'x'",
      'merge into customers c using (select 1 as id) d on c.id = c.id when matched and true then delete',
    ]) {
      const result = await psql(['-c', sql]);
      expect(result.code, sql).toBe(1);
      expect(result.stderr, sql).toMatch(
        /without a WHERE clause that restricts its rows is denied by policy rule "where-please"/,
      );
    }
    expect(cluster.sql("select count(*) from customers where name = 'x'", 'app').trim()).toBe('0');
    expect(cluster.sql('select count(*) from customers', 'app').trim()).toBe('2');
  });

  it('reports the rows a statement touched from its command tag (UPDATE 1 is one row, not zero)', async () => {
    const script = [
      "insert into scratch values (1, 'a'), (2, 'b'), (3, 'c');",
      "update scratch set note = 'x' where id = 1;",
      'delete from scratch where id > 1;',
      'select * from scratch;',
      'create table scratch_tmp (id int);',
    ].join('\n');
    // No guardrails here: the DELETE would otherwise wait for approval.
    gate = new PolicyGate({ ...policy, guardrails: [] });
    const result = await psql([], `${script}\n`);
    expect(result.code).toBe(0);
    expect(outcomes.map((o) => [o.text.split(' ')[0], o.rows])).toEqual([
      ['insert', 3],
      ['update', 1],
      ['delete', 2],
      ['select', 1],
      ['create', 0],
    ]);
    cluster.sql('delete from scratch; drop table scratch_tmp', 'app');
  });

  describe('an exec session (`tollgate exec`: one query, then only Terminate)', () => {
    beforeEach(() => (execMode = true));
    afterAll(() => (execMode = false));

    it('runs one query, with several statements and the COPY data it asks for', async () => {
      const one = await psql(['-c', 'select 1; select 2']);
      expect(one).toMatchObject({ code: 0, stdout: '1\n2\n' });
      const copy = await psql(['-c', 'copy scratch from stdin'], '7\tseven\n\\.\n');
      expect(copy.code).toBe(0);
      expect(cluster.sql('select note from scratch where id = 7', 'app').trim()).toBe('seven');
      cluster.sql('delete from scratch', 'app');
    });

    it('ends the session with FATAL 42501 at a second query, so it cannot be used interactively', async () => {
      const result = await psql(['-c', 'select 1', '-c', "insert into scratch values (8, 'second')"]);
      expect(result.stdout).toBe('1\n');
      expect(result.stderr).toContain(
        'FATAL:  an exec session runs one query; use `tollgate connect` for an interactive session',
      );
      expect(cluster.sql('select count(*) from scratch', 'app').trim()).toBe('0');
      expect(gate.decisions).toEqual(['allow query: select 1']);
    });

    it('refuses the extended protocol (Parse/Bind/Execute) before anything reaches the server', async () => {
      const client = await nodeClient();
      client.on('error', () => undefined);
      try {
        await expect(client.query('insert into scratch values ($1, $2)', [9, 'prepared'])).rejects.toThrow(
          /an exec session runs one query/,
        );
      } finally {
        await client.end().catch(() => undefined);
      }
      expect(cluster.sql('select count(*) from scratch', 'app').trim()).toBe('0');
      expect(gate.decisions).toEqual([]);
    });
  });

  it('copies in and out, masking COPY TO output', async () => {
    const copyIn = await psql(
      ['-c', '\\copy scratch from stdin'],
      '1\tcall me at ada@example.com\n2\tplain\n\\.\n',
    );
    expect(copyIn.code).toBe(0);
    const copyOut = await psql(['-c', 'copy (select * from scratch order by id) to stdout']);
    expect(copyOut.stdout).toBe('1\tcall me at a***@***.com\n2\tplain\n');
    cluster.sql('delete from scratch', 'app');
  });

  it('copies both ways with node-postgres (pg-copy-streams), 4 MiB in and out, masking on the way out', async () => {
    const client = await nodeClient();
    try {
      const rows = 40_000;
      const line = (i: number) =>
        `${i}\t${i % 1000 === 0 ? `row ${i} mails ops@example.com` : 'x'.repeat(100)}\n`;
      const sink = client.query(copyFrom('COPY scratch (id, note) FROM STDIN'));
      await pipeline(
        Readable.from(
          (function* () {
            for (let i = 0; i < rows; i += 1000) {
              yield Array.from({ length: 1000 }, (_, j) => line(i + j)).join('');
            }
          })(),
        ),
        sink,
      );
      expect(sink.rowCount).toBe(rows);
      let noteBytes = 0;
      for (let i = 0; i < rows; i++) noteBytes += line(i).length - `${i}\t\n`.length;
      expect(cluster.sql('select count(*), sum(length(note)) from scratch', 'app').trim()).toBe(
        `${rows}|${noteBytes}`,
      );

      const chunks: Buffer[] = [];
      await pipeline(
        client.query(copyTo('COPY (SELECT id, note FROM scratch ORDER BY id) TO STDOUT')),
        new Writable({
          write(chunk: Buffer, _encoding, done) {
            chunks.push(chunk);
            done();
          },
        }),
      );
      const text = Buffer.concat(chunks).toString();
      const lines = text.split('\n').filter(Boolean);
      expect(lines).toHaveLength(rows);
      expect(lines[1]).toBe(`1\t${'x'.repeat(100)}`);
      expect(lines[1000]).toBe('1000\trow 1000 mails o***@***.com');
      expect(text).not.toContain('ops@example.com');
      // The session is still usable after both COPYs.
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
      cluster.sql('delete from scratch', 'app');
    }
  });

  it('routes a cancel request (psql on SIGINT) to the right backend', async () => {
    const child = spawn('psql', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'x',
      '-d',
      'x',
      '-X',
      '-c',
      'select pg_sleep(30)',
    ]);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await expect
      .poll(
        () => cluster.sql("select count(*) from pg_stat_activity where query = 'select pg_sleep(30)'").trim(),
        { timeout: 10_000 },
      )
      .toBe('1');
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('canceling statement due to user request');
  });

  it('runs pgbench in simple, extended and prepared modes', async () => {
    // Initialising drops and creates tables, which this policy denies: do it on the server directly.
    await run('pgbench', ['-i', '-s', '1', '-q'], {
      env: {
        ...process.env,
        PGHOST: cluster.host,
        PGPORT: String(cluster.port),
        PGUSER: 'tg_scram',
        PGPASSWORD: cluster.password,
        PGDATABASE: 'app',
      },
    });
    const env = { ...process.env, PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'x', PGDATABASE: 'x' };
    for (const mode of ['simple', 'extended', 'prepared']) {
      const { stdout } = await run('pgbench', ['-c', '4', '-t', '25', '-M', mode, '-n'], { env });
      expect(stdout).toContain('number of transactions actually processed: 100/100');
    }
  }, 120_000);

  it('relays a 64 MiB value intact (and still inspects it for masking)', async () => {
    const client = await nodeClient();
    try {
      const result = await client.query<{ big: string }>(
        "select repeat('x', 67108864) || ' ada@example.com' as big",
      );
      const big = result.rows[0]?.big ?? '';
      expect(big.length).toBe(67108864 + 13);
      expect(big.endsWith(' a***@***.com')).toBe(true);
    } finally {
      await client.end();
    }
  });

  it('closes the connection with an ErrorResponse on garbage after authentication; the server sees none of it', async () => {
    const reply = await new Promise<Buffer>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      let sent = false;
      socket.on('data', (c: Buffer) => {
        chunks.push(c);
        // After ReadyForQuery ('Z'), send bytes that are no PostgreSQL message.
        if (!sent && Buffer.concat(chunks).includes(Buffer.from([0x5a, 0, 0, 0, 5]))) {
          sent = true;
          socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        }
      });
      socket.on('close', () => resolve(Buffer.concat(chunks)));
      socket.write(
        serializeStartupPacket({
          name: 'startupMessage',
          protocolVersion: 196608,
          parameters: { user: 'x', database: 'x' },
        }),
      );
    });
    expect(reply.toString()).toContain('08P01');
    expect(reply.toString()).toContain("invalid protocol message: message 'G'");
    expect(gate.decisions).toEqual([]);
  });

  it('answers a malformed start-up with an ErrorResponse and closes; nothing reaches the server', async () => {
    const before = cluster.sql("select count(*) from pg_stat_activity where usename = 'tg_scram'").trim();
    const reply = await new Promise<Buffer>((resolve) => {
      const socket = connect(port, '127.0.0.1', () =>
        socket.write(Buffer.from([0, 0, 0, 12, 0, 9, 0, 0, 1, 2, 3, 4])),
      );
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks)));
    });
    expect(String.fromCharCode(reply[0] ?? 0)).toBe('E');
    expect(reply.toString()).toContain('08P01');
    expect(reply.toString()).toContain('unsupported frontend protocol 9.0');
    expect(cluster.sql("select count(*) from pg_stat_activity where usename = 'tg_scram'").trim()).toBe(
      before,
    );
  });
});
