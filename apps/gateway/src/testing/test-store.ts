import { openStore, type Store } from '@tollgate/store';
import { createTestDatabase, makeDataDir, makeTempDir } from '@tollgate/testing';

/** Where a store under test lives: the embedded store, or a throwaway database on the machine's PostgreSQL. */
export type TestStoreKind = 'pglite' | 'postgres';

/** A store on a new temporary data directory (and database); `remove` closes it and deletes both. */
export async function openTestStore(
  kind: TestStoreKind,
  prefix: string,
): Promise<{ store: Store; remove: () => Promise<void> }> {
  const dir = kind === 'pglite' ? makeDataDir(prefix) : makeTempDir(prefix);
  const db = kind === 'postgres' ? await createTestDatabase() : undefined;
  const store = await openStore({ ...(db ? { databaseUrl: db.url } : {}), dataDir: dir.path });
  return {
    store,
    remove: async () => {
      await store.close();
      await db?.drop();
      dir.remove();
    },
  };
}
