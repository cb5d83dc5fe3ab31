import { Masker } from '@tollgate/masking';
import { maskingRulesFor } from '@tollgate/policy';
import { createTestDatabase, MACHINE_POSTGRES, runPsql } from '@tollgate/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyGate } from '../test-support/policy-gate';
import { serveSessions } from '../test-support/session-server';
import { testPolicy } from '../test-support/sql-test-helpers';
import { CancelRegistry } from './cancel-registry';
import type { PostgresTargetSettings } from './target-settings';

const MASK = testPolicy(`version: 1
masking:
  - name: pii
    columns: [customers.ssn]
`);
const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
const connection = { name: 'pg-test', protocol: 'postgres', tags: {} };
const rules = maskingRulesFor(MASK, { subject, connection });
const masker = Masker.compile([{ detectors: rules.detectors, columns: rules.columns }]);

/** A secret that appears nowhere else: any trace of it in what the client receives is a leak. */
const SECRET = 'zq7Xk2Pw9Lm4';

/**
 * A temporary view takes the place of a table of the same name on the search path (pg_temp comes
 * first), for the rest of the string that made it too: a statement of that string traced through
 * the table must not keep that lineage.
 */
describe('PostgreSQL masking: a temporary view named like a table (real server)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: Awaited<ReturnType<typeof serveSessions>>;
  let admin: pg.Client;
  const cancels = new CancelRegistry();
  const psql = (sql: string) =>
    runPsql(server.port, ['-X', '-At', '-c', sql], { env: {} }).then((r) => r.stdout + r.stderr);

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Client({ ...MACHINE_POSTGRES, database: database.name });
    await admin.connect();
    await admin.query(`
      CREATE TABLE customers (id int PRIMARY KEY, name text, ssn text);
      INSERT INTO customers VALUES (1, 'Ada', '${SECRET}');
      CREATE TABLE scratch (id int, note text);
      INSERT INTO scratch VALUES (7, 'plain');`);
    const target: PostgresTargetSettings = {
      host: MACHINE_POSTGRES.host,
      port: MACHINE_POSTGRES.port,
      database: database.name,
      username: MACHINE_POSTGRES.user,
      tls: { mode: 'disable' },
    };
    server = await serveSessions(() => ({ target, gate: new PolicyGate(MASK), masker, cancels }));
  });
  afterAll(async () => {
    await server?.close();
    await admin?.end();
    await database?.drop();
  });

  const shadow = 'create temp view scratch as select id, ssn as note from customers';

  it('masks what the rest of the string reads through a temporary view it made', async () => {
    const out = await psql(`${shadow}; select note from scratch; table scratch`);
    expect(out).not.toContain(SECRET.slice(2, 8));
    expect(out.split('\n')).toEqual(['CREATE VIEW', '********', '0|********', '']);
  });

  it('masks what later strings of the session read through it', async () => {
    const c = new pg.Client({ host: '127.0.0.1', port: server.port, user: 'u', database: 'd' });
    await c.connect();
    try {
      await c.query(shadow);
      const later = await c.query('select note from scratch');
      expect(JSON.stringify(later.rows)).not.toContain(SECRET.slice(2, 8));
      await c.query('begin');
      await c.query('drop view scratch');
      await c.query(`create temp view scratch as select id, ssn as note from customers`);
      const inTransaction = await c.query('select note from scratch');
      await c.query('commit');
      expect(JSON.stringify(inTransaction.rows)).not.toContain(SECRET.slice(2, 8));
      // The table it hid reads as ever once it is gone.
      await c.query('drop view scratch');
      expect((await c.query('select note from scratch')).rows).toEqual([{ note: 'plain' }]);
    } finally {
      await c.end();
    }
  });
});
