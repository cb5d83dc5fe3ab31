import { createServer } from 'node:net';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MigrationFailedError } from './errors/migration-failed.error';
import { StoreUnavailableError } from './errors/store-unavailable.error';
import { runMigrations } from './migrations/migration-runner';
import { pgClientSqlExecutor } from './migrations/pg-client-sql.executor';
import { openStore } from './store';
import type { Store } from './store.types';
import { writeMigrationsFolder } from './test-support/migrations-folder';
import { createPostgresTestDatabase, type PostgresTestDatabase } from './test-support/postgres-test-database';
import { makeTempDir, removeDir } from './test-support/temp-dir';

const migrationNames = async (store: Store) =>
  (
    await store.prisma.$queryRaw<
      { migration_name: string }[]
    >`SELECT migration_name FROM "_prisma_migrations" ORDER BY 1`
  ).map((row) => row.migration_name);

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('openStore with PostgreSQL (127.0.0.1:5432)', () => {
  const databases: PostgresTestDatabase[] = [];
  const database = async () => {
    const created = await createPostgresTestDatabase();
    databases.push(created);
    return created;
  };
  let dataDir: string;

  beforeAll(() => {
    dataDir = makeTempDir('unused-data-dir');
  });

  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
    removeDir(dataDir);
  });

  it('migrates, keeps data across reopen, and never shows the password', async () => {
    const db = await database();
    let store = await openStore({ databaseUrl: db.url, dataDir });
    expect(store.kind).toBe('postgres');
    expect(store.describe).toBe(`postgres://127.0.0.1:5432/${db.name}`);
    await expect(store.ping()).resolves.toBeUndefined();
    const applied = await migrationNames(store);
    expect(applied).toEqual(expect.arrayContaining([expect.stringMatching(/_init$/)]) as unknown);
    const agent = await store.prisma.agent.create({ data: { name: 'edge-1', labels: { site: 'eu' } } });
    await store.close();
    await store.close();

    store = await openStore({ databaseUrl: db.url, dataDir });
    try {
      expect(await store.prisma.agent.findUnique({ where: { name: 'edge-1' } })).toMatchObject({
        id: agent.id,
        labels: { site: 'eu' },
      });
      expect(await migrationNames(store)).toEqual(applied);
    } finally {
      await store.close();
    }
  });

  it('lets gateways starting together migrate once (advisory lock)', async () => {
    const db = await database();

    const stores = await Promise.all([1, 2, 3].map(() => openStore({ databaseUrl: db.url, dataDir })));
    try {
      const names = await migrationNames(stores[0]);
      expect(new Set(names).size).toBe(names.length);
      await expect(stores[2].prisma.user.count()).resolves.toBe(0);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('reports an unreachable server by host:port, without the password', async () => {
    const port = await closedPort();

    const error = await openStore({
      databaseUrl: `postgres://app:hunter2-secret@127.0.0.1:${port}/tollgate`,
      dataDir,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toBe(
      `cannot open the database at 127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('hunter2-secret');
  });

  it('reports a database that does not exist', async () => {
    const error = await openStore({
      databaseUrl: 'postgres://postgres:pw@127.0.0.1:5432/tollgate_test_missing',
      dataDir,
    }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain('database "tollgate_test_missing" does not exist');
  });

  it('stops at a broken migration over a pg connection, recording the error', async () => {
    const db = await database();
    const migrationsDir = writeMigrationsFolder({
      '001_ok': 'CREATE TABLE ok (a int);',
      '002_broken': "CREATE TABLE half (a int);\nINSERT INTO ok VALUES ('not a number');",
      '003_later': 'CREATE TABLE later (a int);',
    });
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const error = await runMigrations(pgClientSqlExecutor(client), { migrationsDir }).catch(
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(MigrationFailedError);
      expect((error as Error).message).toBe(
        'migration 002_broken failed: invalid input syntax for type integer: "not a number" (SQLSTATE 22P02)',
      );
      const tables = await client.query<{ name: string }>(
        `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
      );
      expect(tables.rows.map((row) => row.name)).toEqual(['_prisma_migrations', 'ok']);
      const rows = await client.query<{
        migration_name: string;
        logs: string | null;
        finished_at: Date | null;
      }>(`SELECT migration_name, logs, finished_at FROM "_prisma_migrations" ORDER BY migration_name`);
      expect(rows.rows.map((row) => row.migration_name)).toEqual(['001_ok', '002_broken']);
      expect(rows.rows[1].finished_at).toBeNull();
      expect(rows.rows[1].logs).toContain('invalid input syntax for type integer');
    } finally {
      await client.end();
      removeDir(migrationsDir);
    }
  });
});
