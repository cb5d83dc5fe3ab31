import { parsePolicy, type Policy } from '@tollgate/policy';
import mysql from 'mysql2/promise';

/** A policy document for a test (its errors thrown). */
export function policyOf(yaml: string): Policy {
  const parsed = parsePolicy(yaml, 'test.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
}

/** The doors specs' masked values (customers.ssn of rows 1 and 2, customers.card of row 1). */
export const SSN = ['zq7Xk2Pw9Lm4', 'Hv3Tr8Ny5Bc1'];
export const CARD = 'Qm5Jd8Ws2Ft6';
/** The secrets and what a query can easily turn them into. */
const TRACES = [...SSN, CARD].flatMap((secret) => [
  secret,
  secret.toLowerCase(),
  secret.toUpperCase(),
  secret.slice(2, 9),
  Buffer.from(secret).toString('hex').toUpperCase(),
]);
/** The traces of a secret in `output`. */
export const leaks = (output: string) => TRACES.filter((trace) => output.includes(trace));

/** What the client got for one statement: its rows as JSON, or the error. */
export interface Answer {
  readonly text: string;
  readonly sqlState?: string;
  readonly code?: number;
}

/**
 * Statements through a session server on `port()` with mysql2 (multiple statements on), one
 * connection per `session`, each statement's answer in order.
 */
export function doorsClient(port: () => number, options: { readonly rowsAsArray?: boolean } = {}) {
  const run = (client: mysql.Connection, sql: string): Promise<Answer> =>
    client.query({ sql, rowsAsArray: options.rowsAsArray ?? false }).then(
      ([rows]) => ({ text: JSON.stringify(rows) }),
      (e: Error & { sqlState?: string; errno?: number }) => ({
        text: e.message,
        ...(e.sqlState ? { sqlState: e.sqlState } : {}),
        ...(e.errno ? { code: e.errno } : {}),
      }),
    );
  const connect = (charset?: string) =>
    mysql.createConnection({
      host: '127.0.0.1',
      port: port(),
      user: 'whoever',
      multipleStatements: true,
      ...(charset ? { charset } : {}),
    });
  return {
    connect,
    run,
    session: async (statements: string[], charset?: string): Promise<Answer[]> => {
      const client = await connect(charset);
      try {
        const answers: Answer[] = [];
        for (const sql of statements) answers.push(await run(client, sql));
        return answers;
      } finally {
        await client.end();
      }
    },
  };
}
