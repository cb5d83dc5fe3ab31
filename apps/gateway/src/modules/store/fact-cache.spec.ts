import { describe, expect, it } from 'vitest';
import type { ChangeListener, StoreChanges } from '@tollgate/store';
import { FactCache } from './fact-cache';

/** A change feed driven by the test: announce a table, go down, come back. */
function feed(): StoreChanges & { announce(table: string): void; setLive(live: boolean): void } {
  const listeners = new Set<ChangeListener>();
  let live = true;
  return {
    get isLive() {
      return live;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    settled: () => Promise.resolve(),
    close: () => Promise.resolve(),
    announce(table) {
      for (const l of listeners) l.changed(table);
    },
    setLive(next) {
      live = next;
      for (const l of listeners) l.live(next);
    },
  };
}

/** A store row the test changes, and how many times it was read. */
function row(value: string) {
  const state = { value, reads: 0 };
  const load = () => {
    state.reads += 1;
    return Promise.resolve<string | undefined>(state.value);
  };
  return { state, load };
}

describe('FactCache', () => {
  it('answers from memory until its table changes, then reads the store again', async () => {
    const changes = feed();
    const cache = new FactCache<string>(changes, { tables: ['token_grants'] });
    const { state, load } = row('usable');
    expect(await cache.get('jti-1', load)).toBe('usable');
    expect(await cache.get('jti-1', load)).toBe('usable');
    expect(state.reads).toBe(1);

    changes.announce('connections');
    expect(await cache.get('jti-1', load)).toBe('usable');
    expect(state.reads).toBe(1);

    state.value = 'revoked';
    changes.announce('token_grants');
    expect(await cache.get('jti-1', load)).toBe('revoked');
  });

  it('does not keep what a read returned if its table changed while the read was under way', async () => {
    const changes = feed();
    const cache = new FactCache<string>(changes, { tables: ['users'] });
    let release: (value: string) => void = () => undefined;
    const slow = () => new Promise<string | undefined>((resolve) => (release = resolve));
    const pending = cache.get('user:ada', slow);
    // The change commits while the read is in flight: the read may have seen the old row.
    changes.announce('users');
    release('enabled (stale)');
    expect(await pending).toBe('enabled (stale)');
    const { state, load } = row('disabled');
    expect(await cache.get('user:ada', load)).toBe('disabled');
    expect(state.reads).toBe(1);
  });

  it('reads the store every time while the feed is down, and forgets everything when it is back', async () => {
    const changes = feed();
    const cache = new FactCache<string>(changes, { tables: ['policy_versions'] });
    const { state, load } = row('v1');
    await cache.get('active', load);
    changes.setLive(false);
    state.value = 'v2';
    expect(await cache.get('active', load)).toBe('v2');
    expect(await cache.get('active', load)).toBe('v2');
    expect(state.reads).toBe(3);

    // A change missed while down is not in what was kept before: that was dropped.
    changes.setLive(true);
    state.value = 'v3';
    expect(await cache.get('active', load)).toBe('v3');
    expect(await cache.get('active', load)).toBe('v3');
    expect(state.reads).toBe(4);
  });

  it('keeps no absent fact, and at most maxEntries entries', async () => {
    const changes = feed();
    const cache = new FactCache<string>(changes, { tables: ['connections'], maxEntries: 2 });
    let reads = 0;
    const missing = () => {
      reads += 1;
      return Promise.resolve(undefined);
    };
    expect(await cache.get('pg-new', missing)).toBeUndefined();
    expect(await cache.get('pg-new', missing)).toBeUndefined();
    expect(reads).toBe(2);

    const a = row('a');
    await cache.get('a', a.load);
    await cache.get('b', row('b').load);
    await cache.get('c', row('c').load);
    await cache.get('a', a.load);
    expect(a.state.reads).toBe(2);
  });
});
