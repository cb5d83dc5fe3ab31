import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataDirLockedError } from './errors/data-dir-locked.error';
import { MigrationFailedError } from './errors/migration-failed.error';
import { findMigrationsDir } from './migrations/find-migrations-dir';
import { LOCK_FILE_NAME } from './pglite/data-dir-lock';
import { openStore } from './store';
import type { StoreLogLevel } from './store-log';
import type { Store } from './store.types';
import { buildStoreDist, runNode } from './test-support/child-node';
import { writeMigrationsFolder } from './test-support/migrations-folder';
import { makeTempDir, removeDir } from './test-support/temp-dir';

interface MigrationRow {
  id: string;
  migration_name: string;
  checksum: string;
  finished_at: Date;
}

const migrationRows = (store: Store) =>
  store.prisma.$queryRaw<
    MigrationRow[]
  >`SELECT id, migration_name, checksum, finished_at FROM "_prisma_migrations" ORDER BY migration_name`;

// One data directory for the suite: the first open of a PGlite directory runs initdb.
describe('openStore with the embedded PGlite database', () => {
  let root: string;
  let dataDir: string;
  let store: Store;
  const logged: { level: StoreLogLevel; msg: string }[] = [];

  beforeAll(async () => {
    root = makeTempDir('pglite');
    dataDir = join(root, 'data', 'nested');
    store = await openStore({
      dataDir,
      command: 'tollgate start',
      log: (level, msg) => logged.push({ level, msg }),
    });
  });

  afterAll(async () => {
    await store.close();
    removeDir(root);
  });

  it('creates the data directory privately and brings the schema up to date', async () => {
    expect(store.kind).toBe('pglite');
    expect(store.describe).toBe(`pglite:${dataDir}`);
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    await expect(store.ping()).resolves.toBeUndefined();
    expect((await migrationRows(store)).map((row) => row.migration_name)).toEqual(
      expect.arrayContaining([expect.stringMatching(/_init$/)]) as unknown,
    );
    expect(logged).toContainEqual({ level: 'info', msg: 'applying migration' });
    await expect(store.prisma.user.count()).resolves.toBe(0);
  });

  it('refuses a second open of the same directory in this process, naming this pid', async () => {
    const error = await openStore({ dataDir }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as Error).message).toContain(`data directory ${dataDir} is in use by pid ${process.pid}`);
    expect((error as Error).message).toContain('"tollgate start"');
    // The refused opener must not have released the holder's lock.
    expect(JSON.parse(readFileSync(join(dataDir, LOCK_FILE_NAME), 'utf8'))).toMatchObject({
      pid: process.pid,
    });
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('refuses a second process on the same directory with a message naming the holder', async () => {
    const distIndex = buildStoreDist();
    const run = await runNode(
      `require(process.argv[1]).openStore({ dataDir: process.argv[2] }).then(
         () => { console.log('opened'); process.exit(0); },
         (error) => { console.error(error.name + ': ' + error.message); process.exit(3); });`,
      [distIndex, dataDir],
    );

    expect(run.code).toBe(3);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(
      `DataDirLockedError: data directory ${dataDir} is in use by pid ${process.pid}`,
    );
    expect(run.stderr).toContain('stop that process or use another --data-dir');
  });

  it('keeps data across close and reopen, and reopening applies nothing', async () => {
    const user = await store.prisma.user.create({
      data: { issuer: 'https://idp.example', subject: 'alice', email: 'alice@example.com' },
    });
    const connection = await store.prisma.connection.create({
      data: {
        name: 'prod-db',
        protocol: 'postgres',
        target: { host: 'db', port: 5432 },
        tags: { env: 'prod' },
      },
    });
    const migrationsBefore = await migrationRows(store);
    await store.close();
    await store.close(); // idempotent
    expect(existsSync(join(dataDir, LOCK_FILE_NAME))).toBe(false);

    logged.length = 0;
    store = await openStore({ dataDir, log: (level, msg) => logged.push({ level, msg }) });

    expect(await store.prisma.user.findUnique({ where: { id: user.id } })).toMatchObject({
      subject: 'alice',
      email: 'alice@example.com',
    });
    expect(await store.prisma.connection.findUnique({ where: { name: 'prod-db' } })).toMatchObject({
      id: connection.id,
      protocol: 'postgres',
      tags: { env: 'prod' },
    });
    expect(await migrationRows(store)).toEqual(migrationsBefore);
    expect(logged.map((entry) => entry.msg)).not.toContain('applying migration');
  });

  it('interactive transactions work over the single PGlite connection', async () => {
    const group = await store.prisma.$transaction(async (tx) => {
      const created = await tx.group.create({ data: { name: 'admins' } });
      const user = await tx.user.findFirstOrThrow({ where: { subject: 'alice' } });
      await tx.membership.create({ data: { userId: user.id, groupId: created.id } });
      return created;
    });

    expect(await store.prisma.membership.count({ where: { groupId: group.id } })).toBe(1);
  });
});

describe('openStore failing half-way', () => {
  it('releases the data directory lock when migrations fail', async () => {
    const root = makeTempDir('pglite-fail');
    const dataDir = join(root, 'data');
    const migrationsDir = writeMigrationsFolder({
      '00000000000000_repo': readFileSync(
        join(findMigrationsDir(), readdirFirst(findMigrationsDir()), 'migration.sql'),
        'utf8',
      ),
      '99990101000000_broken': 'ALTER TABLE nowhere ADD COLUMN x int;',
    });
    try {
      const error = await openStore({ dataDir, migrationsDir }).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MigrationFailedError);
      expect((error as Error).message).toBe(
        'migration 99990101000000_broken failed: relation "nowhere" does not exist (SQLSTATE 42P01)',
      );
      expect(existsSync(join(dataDir, LOCK_FILE_NAME))).toBe(false);
    } finally {
      removeDir(root);
      removeDir(migrationsDir);
    }
  });
});

function readdirFirst(migrationsDir: string): string {
  const name = readdirSync(migrationsDir, { withFileTypes: true }).find((entry) => entry.isDirectory())?.name;
  if (!name) throw new Error(`no migration in ${migrationsDir}`);
  return name;
}
