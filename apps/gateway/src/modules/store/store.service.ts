import type { PrismaClient, Store } from '@tollgate/store';
import { FactCache, type FactCacheOptions } from './fact-cache';

/** The gateway's handle on its store; the store's lifecycle belongs to the gateway runner. */
export class StoreService {
  constructor(private readonly store: Store) {}

  get prisma(): PrismaClient {
    return this.store.prisma;
  }

  /** The raw driver (see Store.sql): for hot paths only; everything else goes through Prisma. */
  get sql(): Store['sql'] {
    return this.store.sql;
  }

  get kind(): Store['kind'] {
    return this.store.kind;
  }

  /** Whether changes to the store are being heard (facts kept in memory are used only then). */
  get changesLive(): boolean {
    return this.store.changes.isLive;
  }

  /**
   * Resolves once every change committed before the call has reached the facts kept in memory
   * (see StoreChanges.settled): await it once at the start of an operation that decides by them.
   */
  changesSettled(): Promise<void> {
    return this.store.changes.settled();
  }

  /** Facts kept in memory while the store's change feed says they are current (see FactCache). */
  facts<V>(options: FactCacheOptions): FactCache<V> {
    return new FactCache<V>(this.store.changes, options);
  }

  /**
   * Calls `listener` when a transaction that changed one of `tables` has committed (through any
   * replica), and when the change feed comes back (changes in between were not heard). Returns a
   * function that stops it.
   */
  onChange(tables: readonly string[], listener: () => void): () => void {
    const watched = new Set(tables);
    return this.store.changes.subscribe({
      changed: (table) => {
        if (watched.has(table)) listener();
      },
      live: (live) => {
        if (live) listener();
      },
    });
  }

  ping(): Promise<void> {
    return this.store.ping();
  }
}
