import { describe, expect, it } from 'vitest';
import type { StoredRelation } from './lineage-scope';
import { SessionCatalog, type MissingFacts } from './session-catalog';

const table = (schema: string, name: string): StoredRelation => ({
  schema,
  name,
  kind: 'table',
  columns: [{ name: 'id' }],
});

/** An analysis that needs one relation and one function, as both engines' analyses ask. */
const needs =
  (name: string, schema?: string) => (catalog: SessionCatalog<StoredRelation, string>['catalog']) => {
    const relations = catalog.relations(name, schema);
    const user = catalog.userFunction('f');
    const missing: MissingFacts = {
      relations: relations === undefined ? [{ name, ...(schema ? { schema } : {}) }] : [],
      functions: user === undefined ? ['f'] : [],
    };
    const statements = [`${relations?.map((r) => `${r.schema}.${r.name}`).join(',') ?? '?'} f:${user}`];
    return missing.relations.length + missing.functions.length > 0 ? { statements, missing } : { statements };
  };

describe('SessionCatalog', () => {
  it('reads what an analysis lacks, then analyzes again with it', async () => {
    const cache = new SessionCatalog<StoredRelation, string>((name) => name);
    const reads: MissingFacts[] = [];
    const result = await cache.analyze(needs('people'), async (missing) => {
      reads.push(missing);
      cache.learnRelations(missing.relations, [table('public', 'people'), table('hr', 'people')]);
      cache.learnFunctions(missing.functions, []);
    });
    expect(reads).toEqual([{ relations: [{ name: 'people' }], functions: ['f'] }]);
    // An unqualified name (a search path) holds the relations of every schema.
    expect(result).toEqual({
      analysis: { statements: ['public.people,hr.people f:false'] },
      cacheable: true,
    });
  });

  it('compares names as the dialect folds them', () => {
    const cache = new SessionCatalog<StoredRelation, string>((name) => name.toLowerCase());
    cache.learnRelations([{ name: 'Customers', schema: 'App' }], [table('app', 'customers')]);
    cache.learnFunctions(['MY_FUNC', 'upper'], ['my_func']);
    expect(cache.catalog.relations('CUSTOMERS', 'app')).toEqual([table('app', 'customers')]);
    expect(cache.catalog.relations('customers', undefined)).toBeUndefined();
    expect([cache.catalog.userFunction('my_func'), cache.catalog.userFunction('UPPER')]).toEqual([
      true,
      false,
    ]);
  });

  it('fails closed for one statement when the catalog cannot be read, and caches nothing of it', async () => {
    const cache = new SessionCatalog<StoredRelation, string>((name) => name);
    const result = await cache.analyze(needs('orders', 'public'), () =>
      Promise.reject(new Error('connection lost')),
    );
    // No such relation, every function user code: what the analysis then makes untraced.
    expect(result).toEqual({ analysis: { statements: [' f:true'] }, cacheable: false });
    expect(cache.catalog.relations('orders', 'public')).toBeUndefined();
  });

  it('drops every fact and analysis on DDL', () => {
    const cache = new SessionCatalog<StoredRelation, string>((name) => name);
    cache.learnRelations([{ name: 't', schema: 's' }], [table('s', 't')]);
    cache.learnFunctions(['f'], ['f']);
    cache.remember('SELECT 1', ['one']);
    expect(cache.cached('SELECT 1')).toEqual(['one']);
    cache.drop();
    expect([
      cache.cached('SELECT 1'),
      cache.catalog.relations('t', 's'),
      cache.catalog.userFunction('f'),
    ]).toEqual([undefined, undefined, undefined]);
  });
});
