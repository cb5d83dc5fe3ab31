import { messages, PGlite } from '@electric-sql/pglite';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgliteChanges } from '../changes/pglite-changes';
import type { ChangeListener } from '../changes/store-changes';
import { StoreUnavailableError } from '../errors/store-unavailable.error';
import { Prisma, PrismaClient } from '../generated/prisma/client';
import { openStore } from '../store';
import type { Store } from '../store.types';
import { makeTempDir, removeDir } from '../test-support/temp-dir';
import { PgliteWorkerClient } from './pglite-worker-client';

/** The worker behind a store's client, reached the way only a test would. */
function workerOf(client: PgliteWorkerClient): Worker {
  return (client as unknown as { worker: Worker }).worker;
}

// The embedded store runs PGlite in a worker thread; these check that what crosses the thread
// boundary behaves as PGlite in process did.
describe('the embedded store in its worker thread', () => {
  let root: string;
  let store: Store;

  beforeAll(async () => {
    root = makeTempDir('pglite-worker');
    store = await openStore({ dataDir: root });
  });

  afterAll(async () => {
    await store.close();
    removeDir(root);
  });

  it('returns what PGlite in process returns through Prisma, types parsed alike', async () => {
    const inProcess = await PGlite.create();
    const local = new PrismaClient({ adapter: new PrismaPGlite(inProcess) });
    const query = (client: PrismaClient) => client.$queryRaw<Record<string, unknown>[]>`
      SELECT 1::int AS i, 9007199254740993::int8 AS big, 1.50::numeric AS n, true AS b, 'x'::text AS t,
        '2026-12-05 01:02:03.456+02'::timestamptz AS ts, '2026-12-05'::date AS d, '12:34:56'::time AS tm,
        '{"a":[1,2]}'::jsonb AS j, '\\x00ff10'::bytea AS bytes, ARRAY[1,2]::int8[] AS bigs,
        ARRAY['a','b'] AS texts, NULL::timestamptz AS nothing,
        '00000000-0000-0000-0000-000000000001'::uuid AS id`;
    try {
      const expected = await query(local);
      const actual = await query(store.prisma);
      expect(actual).toEqual(expected);
      expect(actual[0]).toMatchObject({ big: 9007199254740993n, ts: new Date('2026-12-04T23:02:03.456Z') });
    } finally {
      await local.$disconnect();
      await inProcess.close();
    }
  });

  it('hands PostgreSQL errors over with their code and fields', async () => {
    await store.prisma.group.create({ data: { name: 'dup' } });

    const raw = await store.sql
      .query(`INSERT INTO groups (id, name) VALUES (gen_random_uuid(), 'dup')`)
      .catch((e: unknown) => e);
    expect(raw).toBeInstanceOf(messages.DatabaseError);
    expect(raw).toMatchObject({
      code: '23505',
      severity: 'ERROR',
      constraint: expect.any(String) as unknown,
    });
    expect((raw as Error).message).toContain('duplicate key value violates unique constraint');

    const viaPrisma = await store.prisma.group.create({ data: { name: 'dup' } }).catch((e: unknown) => e);
    expect(viaPrisma).toBeInstanceOf(Prisma.PrismaClientKnownRequestError);
    expect(viaPrisma).toMatchObject({ code: 'P2002' });

    const syntax = await store.sql.query('SELEC 1').catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: '42601', position: '1' });
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('keeps a transaction alone on the connection and rolls it back when its callback throws', async () => {
    let outside: Promise<number> | undefined;
    const failed = await store.prisma
      .$transaction(async (tx) => {
        await tx.group.create({ data: { name: 'in-flight' } });
        // Issued while the transaction is open: it must wait, not read the uncommitted row.
        outside = store.prisma.group.count({ where: { name: 'in-flight' } });
        await sleep(50);
        throw new Error('changed my mind');
      })
      .catch((e: unknown) => e);

    expect((failed as Error).message).toBe('changed my mind');
    expect(await outside).toBe(0);
    expect(await store.prisma.group.count({ where: { name: 'in-flight' } })).toBe(0);

    const sqlOutside: Promise<unknown>[] = [];
    await store.prisma.$transaction(async (tx) => {
      await tx.group.create({ data: { name: 'committed' } });
      sqlOutside.push(store.sql.query(`SELECT count(*)::int AS n FROM groups WHERE name = 'committed'`));
      await sleep(20);
      await tx.group.update({ where: { name: 'committed' }, data: { name: 'committed-2' } });
    });
    expect(await Promise.all(sqlOutside)).toEqual([[{ n: 0 }]]);
    expect(await store.prisma.group.count({ where: { name: 'committed-2' } })).toBe(1);
  });

  it('announces a change before the write that committed it resolves', async () => {
    const heard: string[] = [];
    const listener: ChangeListener = { changed: (table) => heard.push(table), live: () => undefined };
    const unsubscribe = store.changes.subscribe(listener);
    try {
      await store.prisma.group.create({ data: { name: 'announced' } });
      expect(heard).toContain('groups');
      heard.length = 0;
      await store.sql.query(`UPDATE groups SET name = 'announced-2' WHERE name = 'announced'`);
      expect(heard).toEqual(['groups']);
    } finally {
      unsubscribe();
    }
  });
});

describe('a worker that stops', () => {
  it('fails every call closed and takes the change feed down', async () => {
    const root = makeTempDir('pglite-worker-crash');
    const client = await PgliteWorkerClient.open(root, `pglite:${root}`);
    const stopped: Error[] = [];
    client.onStopped((error) => stopped.push(error));
    const changes = await pgliteChanges(client);
    const live: boolean[] = [];
    changes.subscribe({ changed: () => undefined, live: (isLive) => live.push(isLive) });
    expect(changes.isLive).toBe(true);
    try {
      await client.exec('CREATE TABLE t (n int)');
      let inTx: Promise<unknown> | undefined;
      const tx = client.transaction(async (t) => {
        await t.query('INSERT INTO t VALUES (1)');
        inTx = t.query('SELECT pg_sleep(2)');
        await inTx;
      });
      await sleep(200);
      await workerOf(client).terminate();

      await expect(tx).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(inTx).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(client.query('SELECT 1')).rejects.toThrow(/the embedded database stopped/);
      expect(stopped).toHaveLength(1);
      expect(changes.isLive).toBe(false);
      expect(live).toEqual([false]);
      await client.close();
    } finally {
      removeDir(root);
    }
  });
});
