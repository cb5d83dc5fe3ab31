/** The channel the store's triggers announce changes on; the payload is the changed table's name. */
export const CHANGES_CHANNEL = 'tollgate_changes';

export interface ChangeListener {
  /** A transaction that changed `table` has committed. */
  changed(table: string): void;
  /**
   * The feed went down (false: changes may be missed from now on) or came back (true: what was
   * kept from before must be read again, since changes in between were not heard).
   */
  live(live: boolean): void;
}

/**
 * Changes to the store, announced by its triggers (see the change_notifications migration) and
 * heard through LISTEN: a dedicated connection on PostgreSQL, in process on PGlite. What a
 * replica keeps in memory is valid only while `isLive`; while it is not, read the store.
 */
export interface StoreChanges {
  readonly isLive: boolean;
  subscribe(listener: ChangeListener): () => void;
  /**
   * Resolves once every change committed before the call has been announced to the subscribers
   * (or the feed is down, and `isLive` says so): on PostgreSQL a round trip on the listening
   * connection, which the server answers only after the notifications queued for it. Concurrent
   * callers share one round trip. Never rejects.
   */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/** Fans announcements out to the subscribers and tracks whether they can be trusted. */
export class ChangeFanout {
  private readonly listeners = new Set<ChangeListener>();
  private liveNow = false;

  get isLive(): boolean {
    return this.liveNow;
  }

  subscribe(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed(table: string): void {
    for (const listener of this.listeners) listener.changed(table);
  }

  setLive(live: boolean): void {
    if (live === this.liveNow) return;
    this.liveNow = live;
    for (const listener of this.listeners) listener.live(live);
  }
}
