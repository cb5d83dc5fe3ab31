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
 * COPY TO STDOUT in an encoding whose multi-byte characters can end in an ASCII byte (SJIS, BIG5,
 * GBK, ...): the server neither escapes such a byte nor splits on it, so a reader taking the row
 * apart byte by byte sees fields the server did not send. Masking must not be misled into
 * leaving a masked field's bytes in a field it takes for another column.
 */
describe('PostgreSQL masking: COPY output in client-only encodings (real server)', () => {
  let database: Awaited<ReturnType<typeof createTestDatabase>>;
  let server: Awaited<ReturnType<typeof serveSessions>>;
  let admin: pg.Client;
  const cancels = new CancelRegistry();
  const psql = (sql: string, env: Record<string, string> = {}) =>
    runPsql(server.port, ['-X', '-At', '-c', sql], { env }).then((r) => r.stdout + r.stderr);

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Client({ ...MACHINE_POSTGRES, database: database.name });
    await admin.connect();
    await admin.query(`
      CREATE TABLE customers (id int PRIMARY KEY, name text, ssn text);
      INSERT INTO customers VALUES (1, 'Ada', '${SECRET}');`);
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

  // ソ is 0x83 0x5C in SJIS (a backslash as its second byte), ポ is 0x83 0x7C (a |).
  const shifted = `(select chr(12477), ssn, chr(12509) from customers)`;

  it('masks COPY ... ENCODING with a delimiter and escapes hidden in multi-byte characters', async () => {
    for (const encoding of ['SJIS', 'BIG5', 'JOHAB']) {
      for (const options of [
        `delimiter '|'`,
        `format csv, delimiter '|'`,
        `format csv, delimiter '|', quote '\\', escape '\\'`,
      ]) {
        const out = await psql(`copy ${shifted} to stdout with (${options}, encoding '${encoding}')`);
        expect(out, `${encoding} ${options}`).not.toContain(SECRET.slice(2, 8));
      }
    }
    // Such rows are masked whole; in an encoding that hides nothing, field by field as ever.
    expect(await psql(`copy (select name, ssn from customers) to stdout with (encoding 'SJIS')`)).toBe(
      '\\N\t\\N\n',
    );
    expect(await psql(`copy (select name, ssn from customers) to stdout with (encoding 'LATIN1')`)).toBe(
      'Ada\t********\n',
    );
  });

  it('masks COPY output when the session reads in such an encoding (client_encoding)', async () => {
    for (const encoding of ['SJIS', 'BIG5']) {
      const out = await psql(`copy ${shifted} to stdout with (delimiter '|')`, {
        PGCLIENTENCODING: encoding,
      });
      expect(out, encoding).not.toContain(SECRET.slice(2, 8));
      const set = await psql(
        `set client_encoding = '${encoding}'; copy ${shifted} to stdout with (delimiter '|')`,
      );
      expect(set, encoding).not.toContain(SECRET.slice(2, 8));
    }
  });
});
