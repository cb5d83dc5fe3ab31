import type { StoreChanges } from '@tollgate/store';

export interface FactCacheOptions {
  /** The tables whose changes make what is kept here stale (their triggers announce them). */
  readonly tables: readonly string[];
  /** Most entries kept; the oldest go first. */
  readonly maxEntries?: number;
  /**
   * Longest an entry is trusted without a change heard: a bound on staleness should an
   * announcement ever be missed without the feed noticing.
   */
  readonly maxAgeMs?: number;
}

interface Entry<V> {
  readonly value: V;
  readonly at: number;
}

/**
 * Facts read from the store (a token grant's state, a subject, a connection ...), kept in memory
 * while the store's change feed is live and dropped when one of their tables changes. A read that
 * started before a change (or before the feed came back) is returned but not kept, so what is kept
 * was read after the last change heard. While the feed is down every lookup reads the store: a
 * change that could not be heard must not be missed (fail closed). Only what `load` found is kept:
 * absent facts are read again.
 */
export class FactCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  /** Bumped by every change to one of the tables and every change of the feed's state. */
  private epoch = 0;
  private readonly tables: ReadonlySet<string>;
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;

  constructor(
    private readonly changes: StoreChanges,
    options: FactCacheOptions,
  ) {
    this.tables = new Set(options.tables);
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    changes.subscribe({
      changed: (table) => {
        if (this.tables.has(table)) this.clear();
      },
      live: () => this.clear(),
    });
  }

  async get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined> {
    if (!this.changes.isLive) return load();
    const now = performance.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.maxAgeMs) return hit.value;
    const epoch = this.epoch;
    const value = await load();
    if (value !== undefined && epoch === this.epoch && this.changes.isLive) {
      if (this.entries.size >= this.maxEntries) {
        const oldest = this.entries.keys().next();
        if (!oldest.done) this.entries.delete(oldest.value);
      }
      this.entries.delete(key);
      this.entries.set(key, { value, at: now });
    }
    return value;
  }

  /** Forgets everything kept (a local write that must count at once, before its announcement). */
  clear(): void {
    this.epoch += 1;
    this.entries.clear();
  }
}
