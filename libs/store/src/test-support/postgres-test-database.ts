import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The machine's PostgreSQL (trust auth on loopback), see /work/shared/ENVIRONMENT.md. */
const ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface PostgresTestDatabase {
  readonly name: string;
  /** Carries a password that trust auth ignores, so tests can check it never leaks. */
  readonly url: string;
  drop(): Promise<void>;
}

export async function createPostgresTestDatabase(): Promise<PostgresTestDatabase> {
  const name = `tollgate_test_${randomBytes(6).toString('hex')}`;
  await admin(`CREATE DATABASE "${name}"`);
  return {
    name,
    url: `postgres://postgres:not-a-real-secret@127.0.0.1:5432/${name}`,
    drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
