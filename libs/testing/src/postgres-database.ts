import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The machine's PostgreSQL (trust auth on loopback), where tests make throwaway databases. */
export const MACHINE_POSTGRES = { host: '127.0.0.1', port: 5432, user: 'postgres' } as const;

/** Creates an empty database on the machine's PostgreSQL; `drop` removes it. */
export async function createTestDatabase(): Promise<{
  url: string;
  name: string;
  drop: () => Promise<void>;
}> {
  const name = `tollgate_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: `postgres://${MACHINE_POSTGRES.user}@${MACHINE_POSTGRES.host}:${MACHINE_POSTGRES.port}/${name}`,
    drop: () =>
      withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}

async function withAdmin<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ ...MACHINE_POSTGRES, database: 'postgres' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}
