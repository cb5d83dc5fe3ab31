import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyMergePatch } from './json-merge-patch';

describe('applyMergePatch (RFC 7396)', () => {
  it('merges objects, removes keys set to null and replaces everything else', () => {
    expect(
      applyMergePatch(
        { host: 'db', port: 5432, tls: { mode: 'verify-full', ca: 'x' }, list: [1, 2] },
        { port: 5433, tls: { ca: null }, list: [3], database: 'app' },
      ),
    ).toEqual({ host: 'db', port: 5433, tls: { mode: 'verify-full' }, list: [3], database: 'app' });
  });

  it('never sets a prototype from a body key', () => {
    const merged = applyMergePatch({}, JSON.parse('{"__proto__": {"polluted": true}}')) as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.keys(merged)).toEqual(['__proto__']);
  });

  it('is the identity for an empty patch and keeps every key the patch does not name', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string(), fc.jsonValue()),
        fc.dictionary(fc.string(), fc.jsonValue()),
        (target, patch) => {
          expect(applyMergePatch(target, {})).toEqual(target);
          const merged = applyMergePatch(target, patch) as Record<string, unknown>;
          for (const key of Object.keys(target))
            if (!Object.hasOwn(patch, key)) expect(merged[key]).toEqual(target[key]);
          for (const [key, value] of Object.entries(patch))
            if (value === null) expect(Object.hasOwn(merged, key)).toBe(false);
        },
      ),
    );
  });
});
