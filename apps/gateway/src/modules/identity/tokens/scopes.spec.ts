import { describe, expect, it } from 'vitest';
import { parseScopeParameter, scopeCovers, scopesPermit, uncoveredScopes } from './scopes';

describe('scopes', () => {
  it('knows the verbs and connection-narrowed connect/exec scopes, nothing else', () => {
    expect(parseScopeParameter('connect exec:pg-* audit:read  admin').unknown).toEqual([]);
    expect(parseScopeParameter('admin:pg-prod connect:bad/name write').unknown).toEqual([
      'admin:pg-prod',
      'connect:bad/name',
      'write',
    ]);
  });

  it('a child scope must be covered by a held one', () => {
    expect(scopeCovers('connect', 'connect:pg-prod')).toBe(true);
    expect(scopeCovers('connect:pg-*', 'connect:pg-prod')).toBe(true);
    expect(scopeCovers('connect:pg-*', 'connect:pg-*')).toBe(true);
    // A glob is not narrower than another glob unless equal; a narrowed scope never covers the verb.
    expect(scopeCovers('connect:pg-*', 'connect:*')).toBe(false);
    expect(scopeCovers('connect:pg-*', 'connect:p*')).toBe(false);
    expect(scopeCovers('connect:pg-prod', 'connect')).toBe(false);
    expect(scopeCovers('connect', 'exec')).toBe(false);
    expect(uncoveredScopes(['connect:pg-*', 'audit:read'], ['connect:pg-dev', 'admin'])).toEqual(['admin']);
  });

  it('permits a verb on a connection only as the scopes say', () => {
    expect(scopesPermit(['connect:pg-*'], 'connect', 'pg-prod')).toBe(true);
    expect(scopesPermit(['connect:pg-*'], 'connect', 'mysql-prod')).toBe(false);
    expect(scopesPermit(['connect:pg-*'], 'exec', 'pg-prod')).toBe(false);
    expect(scopesPermit(['connect'], 'connect', 'anything')).toBe(true);
    expect(scopesPermit(['audit:read'], 'admin')).toBe(false);
  });
});
