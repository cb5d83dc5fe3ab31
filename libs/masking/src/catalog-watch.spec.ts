import { describe, expect, it } from 'vitest';
import { CatalogChanges, CatalogWatch, mayChangeCatalog, runsCode } from './catalog-watch';
import type { StoredRelation } from './lineage-scope';
import { SessionCatalog } from './session-catalog';

type Statement = { readonly name: string; readonly prepared?: Statement };
const statement = (name: string, prepared?: Statement): Statement => ({
  name,
  ...(prepared ? { prepared } : {}),
});

const sessions = () => {
  const watch = new CatalogWatch();
  const catalog = () => new SessionCatalog<StoredRelation, Statement>((n) => n, watch);
  return { a: catalog(), b: catalog() };
};

describe('catalog changes shared by the sessions to one target', () => {
  it("drops a session's facts and makes its lineage stale when another session changes the catalog", () => {
    const { a, b } = sessions();
    const made = b.generation;
    const select = b.stamp([statement('select', statement('prepared'))], made)[0]!;
    b.remember('select', [select]);
    expect(b.holds(select)).toBe(true);
    expect(b.holds(select.prepared)).toBe(true);

    a.changing();
    // On its way: b trusts nothing, not even what it made before.
    expect(b.unsettled).toBe(true);
    expect(b.holds(select)).toBe(false);
    a.settled();
    expect(b.unsettled).toBe(false);
    expect(b.holds(select)).toBe(false);
    // b catches up once: its cache is gone, and what it makes from now on holds.
    expect(b.catchUp()).toBe(true);
    expect(b.cached('select')).toBeUndefined();
    expect(b.catchUp()).toBe(false);
    const again = b.stamp([statement('select')], b.generation)[0];
    expect(b.holds(again)).toBe(true);
  });

  it("does not take a session's own change for another's, but its own older lineage is stale", () => {
    const { a, b } = sessions();
    const before = a.stamp([statement('before')], a.generation)[0];
    a.changing();
    expect(a.unsettled).toBe(false);
    a.settled();
    expect(a.catchUp()).toBe(false);
    expect(a.holds(before)).toBe(false);
    expect(b.catchUp()).toBe(true);
  });

  it("still catches up with another session's change that came before its own", () => {
    const { a, b } = sessions();
    a.changing();
    b.changing();
    expect(b.catchUp()).toBe(true);
    b.settled();
    a.settled();
    expect(b.catchUp()).toBe(true);
  });

  it('settles a session that ends with a change under way (it was rolled back with it)', () => {
    const { a, b } = sessions();
    a.changing();
    a.changing();
    expect(b.unsettled).toBe(true);
    a.settled();
    expect(b.unsettled).toBe(false);
    // Settling twice, or a session that changed nothing, moves nothing.
    const generation = b.generation;
    a.settled();
    b.settled();
    expect(b.generation).toBe(generation);
  });

  it('never holds lineage it did not stamp, nor a FETCH made from it', () => {
    const { a } = sessions();
    expect(a.holds(statement('unstamped'))).toBe(false);
    expect(a.holds(undefined)).toBe(false);
    const cursor = a.stamp([statement('declare')], a.generation)[0];
    expect(a.holds(a.stampLike(statement('fetch'), cursor))).toBe(true);
    expect(a.holds(a.stampLike(statement('fetch'), statement('unstamped')))).toBe(false);
  });

  it('counts code that runs (DO, CALL, dynamic SQL, unreadable SQL) as a change, not code it installs', () => {
    for (const kind of ['DO', 'CALL', 'DYNAMIC SQL', 'EXECUTE', 'FUNCTION CALL', 'UNPARSED'])
      expect(runsCode([kind])).toBe(true);
    expect(runsCode(['USER VARIABLE', 'FILE ACCESS'])).toBe(false);
    expect(runsCode([])).toBe(false);
    expect(runsCode(undefined)).toBe(false);
  });

  it('counts every statement type but reads, writes of rows and session settings as a change', () => {
    for (const type of [
      'CREATE VIEW',
      'CREATE OR REPLACE VIEW',
      'DROP',
      'ALTER TABLE',
      'RENAME',
      'SELECT INTO',
      'EXECUTE',
    ])
      expect(mayChangeCatalog({ type })).toBe(true);
    for (const type of ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'SET', 'BEGIN', 'COMMIT', 'SHOW', 'FETCH'])
      expect(mayChangeCatalog({ type })).toBe(false);
    expect(mayChangeCatalog({ type: 'CALL', opaque: ['CALL'] })).toBe(true);
    expect(mayChangeCatalog({ type: 'SELECT', opaque: ['DYNAMIC SQL'] })).toBe(true);
  });

  it('hears of a session without lineage as of any other', () => {
    const watch = new CatalogWatch();
    const b = new SessionCatalog<StoredRelation, Statement>((n) => n, watch);
    const admin = new CatalogChanges(watch);
    const select = b.stamp([statement('select')], b.generation)[0];
    admin.changing();
    expect(b.unsettled).toBe(true);
    admin.settled();
    expect(b.holds(select)).toBe(false);
    expect(b.catchUp()).toBe(true);
  });
});
