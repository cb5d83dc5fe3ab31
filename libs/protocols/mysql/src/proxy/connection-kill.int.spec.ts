import { createServer, type Server } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Masker } from '@tollgate/masking';
import { maskingRulesFor, parsePolicy, type Policy } from '@tollgate/policy';
import { createMariadbDatabase, mariadbRoot, type MariadbTestDatabase } from '@tollgate/testing';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PolicyGate } from '../test-support/policy-gate';
import { listenOnLoopback, nativeUserTarget } from '../test-support/session-server';
import { ConnectionIds } from './connection-ids';
import { runMysqlSession } from './mysql-session';
import type { MysqlTargetSettings } from './target-settings';

const parse = (yaml: string): Policy => {
  const parsed = parsePolicy(yaml, 'test.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
};
const OPEN = parse('version: 1\n');
const MASKED = parse(`version: 1
masking:
  - name: pii
    columns: [customers.ssn]
`);
const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
const connection = { name: 'my-test', protocol: 'mysql', tags: { env: 'test' } };

/**
 * KILL through the engine, against the machine's MariaDB: what MariaDB's own test suite does
 * (`KILL QUERY $conid` of `SELECT CONNECTION_ID()`, `kill query @id`, `KILL (<expression>)`) behaves
 * as directly for the sessions of one owner, and reaches no other owner's session.
 */
describe('KILL through the MySQL session engine', () => {
  let db: MariadbTestDatabase;
  let target: MysqlTargetSettings;
  const servers: Server[] = [];
  const ports: Record<'alice' | 'bob' | 'masked', number> = { alice: 0, bob: 0, masked: 0 };
  const clients: mysql.Connection[] = [];
  /** What alice's sessions recorded (their results). */
  const recorded: string[] = [];

  beforeAll(async () => {
    db = createMariadbDatabase();
    db.sql(
      `CREATE TABLE customers (id int PRIMARY KEY, ssn varchar(20));
       INSERT INTO customers VALUES (1, '123-45-6789');`,
    );
    target = nativeUserTarget(db);
    // One engine's registry: alice's sessions, bob's, and alice's under column rules.
    const registry = new ConnectionIds();
    const rules = maskingRulesFor(MASKED, { subject, connection });
    for (const name of ['alice', 'bob', 'masked'] as const) {
      const server = createServer((socket) => {
        void runMysqlSession(socket, {
          target,
          gate: new PolicyGate(name === 'masked' ? MASKED : OPEN),
          masker:
            name === 'masked'
              ? Masker.compile([{ detectors: rules.detectors, columns: rules.columns }])
              : Masker.compile([]),
          ids: { registry, owner: name === 'bob' ? 'bob' : 'alice' },
          onStatement: (outcome) => {
            if (name === 'alice')
              recorded.push(`${outcome.text}${outcome.error ? ` -> ${outcome.error}` : ''}`);
          },
        });
      });
      servers.push(server);
      ports[name] = await listenOnLoopback(server);
    }
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => c.destroy())));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    db?.drop();
  });

  const connect = async (who: keyof typeof ports | 'direct') => {
    const client = await mysql.createConnection(
      who === 'direct'
        ? { host: '127.0.0.1', port: 3306, user: db.users.native, password: db.password, database: db.name }
        : { host: '127.0.0.1', port: ports[who], user: 'whoever' },
    );
    clients.push(client);
    return client;
  };
  const errorOf = (query: Promise<unknown>) =>
    query.then(
      () => ({ errno: 0, message: 'ok' }),
      (error: { errno?: number; sqlMessage?: string }) => ({ errno: error.errno, message: error.sqlMessage }),
    );

  /** An alice session whose statement waits on a user lock another connection holds; its thread id. */
  const blockedOnLock = async () => {
    const lock = `tg_kill_${randomUUID().slice(0, 8)}`;
    const holder = await connect('direct');
    await holder.query('SELECT GET_LOCK(?, 60)', [lock]);
    const waiter = await connect('alice');
    const [[row]] = (await waiter.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    // GET_LOCK answers NULL when its wait is killed, 1 when it gets the lock.
    const waiting = waiter
      .query('SELECT GET_LOCK(?, 60) AS got', [lock])
      .then(([rows]) => (rows as { got: number | null }[])[0]?.got);
    await expect
      .poll(
        () =>
          mariadbRoot(
            `SELECT COUNT(*) FROM information_schema.processlist WHERE id = ${row.id} AND state = 'User lock'`,
          ).trim(),
        { timeout: 10_000 },
      )
      .toBe('1');
    return { id: row.id, waiting, release: () => holder.query('SELECT RELEASE_LOCK(?)', [lock]) };
  };

  it("KILL QUERY <CONNECTION_ID() of another session of the same owner> stops that session's statement", async () => {
    const blocked = await blockedOnLock();
    const killer = await connect('alice');
    expect(await errorOf(killer.query(`KILL QUERY ${blocked.id}`))).toEqual({ errno: 0, message: 'ok' });
    expect(await blocked.waiting).toBeNull();
    // The killing session records its KILL (the killed one records its statement as cancelled).
    expect(recorded).toContain(`KILL QUERY ${blocked.id}`);
    expect(await errorOf(killer.query('KILL QUERY 987654'))).toMatchObject({ errno: 1094 });
    expect(recorded).toContain('KILL QUERY 987654 -> 1094 (HY000): Unknown thread id: 987654');
  });

  it('KILL QUERY @id (an expression) is evaluated as the server would and stops the statement', async () => {
    const blocked = await blockedOnLock();
    const killer = await connect('alice');
    await killer.query(`SET @id := ${blocked.id}`);
    expect(await errorOf(killer.query('KILL QUERY @id'))).toEqual({ errno: 0, message: 'ok' });
    expect(await blocked.waiting).toBeNull();
  });

  it('a KILL whose expression names no session is answered as the server answers it', async () => {
    const sql = "KILL  (('x' IN ( SELECT 1)) MOD 44)";
    const direct = await errorOf((await connect('direct')).query(sql));
    expect(direct).toEqual({ errno: 1094, message: 'Unknown thread id: 0' });
    expect(await errorOf((await connect('alice')).query(sql))).toEqual(direct);
    // An expression reading a table is refused, as directly.
    const reading = 'KILL QUERY (SELECT id FROM customers)';
    const directly = await errorOf((await connect('direct')).query(reading));
    expect(directly.errno).toBe(1970);
    expect(await errorOf((await connect('alice')).query(reading))).toEqual(directly);
    // One the server cannot read: its syntax error (quoting the text around the expression).
    expect((await errorOf((await connect('alice')).query('KILL QUERY (1 +)'))).errno).toBe(1064);
  });

  it("KILL of a session's own CONNECTION_ID() is the server's answer, as directly", async () => {
    const direct = await connect('direct');
    const [[own]] = (await direct.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    const expected = await errorOf(direct.query(`KILL QUERY ${own.id}`));
    const alice = await connect('alice');
    const [[mine]] = (await alice.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    expect(await errorOf(alice.query(`KILL QUERY ${mine.id}`))).toEqual(expected);
    const [[after]] = (await alice.query('SELECT 41 + 1 AS v')) as unknown as [[{ v: number }]];
    expect(after.v).toBe(42);
  });

  it("another owner's KILL of the session's thread id, plain or as an expression, is an unknown id and the statement runs on", async () => {
    const blocked = await blockedOnLock();
    const bob = await connect('bob');
    expect(await errorOf(bob.query(`KILL QUERY ${blocked.id}`))).toEqual({
      errno: 1094,
      message: `Unknown thread id: ${blocked.id}`,
    });
    await bob.query(`SET @id := ${blocked.id}`);
    expect(await errorOf(bob.query('KILL @id'))).toEqual({
      errno: 1094,
      message: `Unknown thread id: ${blocked.id}`,
    });
    await blocked.release();
    expect(await blocked.waiting).toBe(1);
  });

  it("a prepared KILL (SQL PREPARE of a literal, or the binary protocol's) is prepared, and refused when executed: it never reaches the server's thread ids", async () => {
    const blocked = await blockedOnLock();
    const bob = await connect('bob');
    const refusal = {
      errno: 1142,
      message:
        'tollgate: KILL is answered only alone in its query (KILL [QUERY] <id>, the id a Tollgate session was greeted with or its CONNECTION_ID())',
    };
    for (const sql of [
      `PREPARE k FROM 'KILL QUERY ${blocked.id}'`,
      `PREPARE k FROM "/* c */ kill ${blocked.id}"`,
    ]) {
      // Preparing runs nothing, as directly (MariaDB's own suite prepares ' KILL 0 ').
      expect(await errorOf(bob.query(sql)), sql).toEqual({ errno: 0, message: 'ok' });
      expect(await errorOf(bob.query('EXECUTE k')), sql).toEqual(refusal);
    }
    const binary = await bob.prepare(`KILL QUERY ${blocked.id}`);
    expect(await errorOf(binary.execute([]))).toEqual(refusal);
    // Not even the owner's own sessions take a KILL this way (alone in a query, it reaches them).
    const alice = await connect('alice');
    await alice.query(`PREPARE k FROM 'KILL QUERY ${blocked.id}'`);
    expect(await errorOf(alice.query('EXECUTE k'))).toEqual(refusal);
    await blocked.release();
    expect(await blocked.waiting).toBe(1);
  });

  it('under column rules a KILL of an expression is refused: its unknown-id error would show a masked value', async () => {
    const masked = await connect('masked');
    const refused = await errorOf(masked.query('KILL (SELECT ASCII(ssn) FROM customers LIMIT 1)'));
    expect(refused.errno).toBe(1142);
    expect(refused.message).not.toMatch(/49/);
    // A plain id is still answered.
    expect(await errorOf(masked.query('KILL 0'))).toEqual({ errno: 1094, message: 'Unknown thread id: 0' });
  });
});
