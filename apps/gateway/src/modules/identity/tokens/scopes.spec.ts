import { describe, expect, it } from 'vitest';
import { parseScopeParameter, scopeCovers, scopeReach, scopesPermit, uncoveredScopes } from './scopes';

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

  it('narrows audit:read to connections: the route is let through, the answer is narrowed', () => {
    expect(parseScopeParameter('audit:read:pg-* review:pg-dev').unknown).toEqual(['review:pg-dev']);
    expect(scopesPermit(['audit:read:pg-*'], 'audit:read')).toBe(true);
    // Other verbs asked without a connection are not permitted by a narrowed scope.
    expect(scopesPermit(['register:ci-*'], 'register')).toBe(false);
    expect(scopeCovers('audit:read', 'audit:read:pg-dev')).toBe(true);
    expect(scopeCovers('audit:read:pg-dev', 'audit:read')).toBe(false);
    expect(scopeReach(['connect', 'audit:read:pg-*', 'audit:read:my-dev'], 'audit:read')).toEqual({
      everywhere: false,
      globs: ['pg-*', 'my-dev'],
    });
    expect(scopeReach(['audit:read', 'audit:read:pg-*'], 'audit:read')).toMatchObject({ everywhere: true });
    expect(scopeReach(['connect'], 'audit:read')).toBeNull();
  });
});
