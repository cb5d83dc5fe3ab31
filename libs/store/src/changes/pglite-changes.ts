import type { PgliteWorkerClient } from '../pglite/pglite-worker-client';
import { CHANGES_CHANNEL, ChangeFanout, type StoreChanges } from './store-changes';

/**
 * PGlite has one connection, and its worker thread answers on one port in order: a notification
 * reaches this thread before the answer to the query that committed it, so what a replica keeps is
 * never behind its store. Should the worker stop, the feed goes down (what is kept is bypassed, and
 * reading the store fails: closed).
 */
export async function pgliteChanges(
  db: Pick<PgliteWorkerClient, 'listen' | 'onStopped'>,
): Promise<StoreChanges> {
  const fanout = new ChangeFanout();
  const unlisten = await db.listen(CHANGES_CHANNEL, (table) => fanout.changed(table));
  const offStopped = db.onStopped(() => fanout.setLive(false));
  fanout.setLive(true);
  return {
    get isLive() {
      return fanout.isLive;
    },
    subscribe: (listener) => fanout.subscribe(listener),
    // Announced before the committing query resolved.
    settled: () => Promise.resolve(),
    async close() {
      offStopped();
      fanout.setLive(false);
      await unlisten().catch(() => undefined);
    },
  };
}
