import { Masker } from '@tollgate/masking';
import { maskingRulesFor, type Policy } from '@tollgate/policy';
import { createTestDatabase, MACHINE_POSTGRES, runPsql } from '@tollgate/testing';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { CancelRegistry } from '../proxy/cancel-registry';
import type { PostgresTargetSettings } from '../proxy/target-settings';
import { PolicyGate } from './policy-gate';
import { rawClient } from './raw-client';
import { serveSessions } from './session-server';
import { testPolicy } from './sql-test-helpers';

/** customers.ssn masked (column rule only: whatever is masked or withheld is by lineage). */
export const SSN_MASK = testPolicy(`version: 1
masking:
  - name: pii
    columns: [customers.ssn]
`);

/** A secret that appears nowhere else: any trace of it in what the client receives is a leak. */
export const SECRET = 'zq7Xk2Pw9Lm4';

/** The table the masking covers, with SECRET as row 1's ssn. */
export const CUSTOMERS_SQL = `CREATE TABLE customers (id int PRIMARY KEY, name text, ssn text);
  INSERT INTO customers VALUES (1, 'Ada', '${SECRET}');`;

/**
 * The doors specs' harness, in a describe: a throwaway database on the machine's PostgreSQL (its
 * `admin` client sets it up, in the spec's own beforeAll/beforeEach) and the engine's sessions in
 * front of it under `policy` (SSN_MASK unless given), for a subject the masking covers.
 */
export function useMaskedSessions(policy: Policy = SSN_MASK) {
  const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
  const connection = { name: 'pg-test', protocol: 'postgres', tags: {} };
  const rules = maskingRulesFor(policy, { subject, connection });
  const masker = Masker.compile([{ detectors: rules.detectors, columns: rules.columns }]);
  const cancels = new CancelRegistry();
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let server: Awaited<ReturnType<typeof serveSessions>> | undefined;
  let admin: pg.Client | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    admin = new pg.Client({ ...MACHINE_POSTGRES, database: database.name });
    await admin.connect();
    const target: PostgresTargetSettings = {
      host: MACHINE_POSTGRES.host,
      port: MACHINE_POSTGRES.port,
      database: database.name,
      username: MACHINE_POSTGRES.user,
      tls: { mode: 'disable' },
    };
    server = await serveSessions(() => ({ target, gate: new PolicyGate(policy), masker, cancels }));
  });
  afterAll(async () => {
    await server?.close();
    await admin?.end();
    await database?.drop();
  });

  const port = () => server!.port;
  return {
    /** Runs SQL on the database directly (as its owner, not through the engine). */
    onServer: async (sql: string) => (await admin!.query(sql)).rows as Record<string, unknown>[],
    /** psql through the engine: its output and errors as one text. */
    psql: (sql: string, env: Record<string, string> = {}) =>
      runPsql(port(), ['-X', '-At', '-c', sql], { env }).then((r) => r.stdout + r.stderr),
    /** A client speaking the protocol message by message through the engine (see rawClient). */
    raw: () => rawClient(port()),
    /** A node-postgres client through the engine, connected. */
    client: async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: port(), user: 'u', database: 'd' });
      await c.connect();
      return c;
    },
  };
}
