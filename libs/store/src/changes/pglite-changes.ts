import type { PGlite } from '@electric-sql/pglite';
import { CHANGES_CHANNEL, ChangeFanout, type StoreChanges } from './store-changes';

/**
 * PGlite runs in this process and has one connection: a notification is delivered before the query
 * that committed it resolves, so what a replica keeps is never behind its store.
 */
export async function pgliteChanges(db: PGlite): Promise<StoreChanges> {
  const fanout = new ChangeFanout();
  const unlisten = await db.listen(CHANGES_CHANNEL, (table) => fanout.changed(table));
  fanout.setLive(true);
  return {
    get isLive() {
      return fanout.isLive;
    },
    subscribe: (listener) => fanout.subscribe(listener),
    // Announced before the committing query resolved.
    settled: () => Promise.resolve(),
    async close() {
      fanout.setLive(false);
      await unlisten().catch(() => undefined);
    },
  };
}
