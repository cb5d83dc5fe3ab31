import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { requestPath } from './request-path';

const pathOf = (target: string) => {
  const result = requestPath(target);
  if (!result.ok) throw new Error(result.error);
  return result.path;
};

describe('requestPath', () => {
  it.each([
    ['/api/v1/users?limit=5', '/api/v1/users'],
    ['/', '/'],
    ['/a/b/', '/a/b/'],
    ['/%61dmin', '/admin'],
    ['/api%2Fadmin', '/api/admin'],
    ['/a/.b/..c/', '/a/.b/..c/'],
    ['/caf%C3%A9', '/café'],
    ['http://example.com/a/b?c', '/a/b'],
    ['*', '*'],
  ])('reads %s as %s', (target, path) => {
    expect(pathOf(target)).toBe(path);
  });

  it.each([
    ['/a%2', 'malformed percent-escape'],
    ['/a%zz', 'malformed percent-escape'],
    ['/a%ff', 'not UTF-8'],
    ['/a%00b', 'control characters'],
    ['/a%0d%0a', 'control characters'],
    ['relative', 'not a path'],
    ['/a#frag', 'fragment'],
    ['//admin', 'empty segment'],
    ['/a//b', 'empty segment'],
    ['/admin//..', 'empty segment'],
    ['/admin/%2f/x', 'empty segment'],
    ['/x/../admin', 'dot segment'],
    ['/x/%2e%2e/admin', 'dot segment'],
    ['/%2E%2E/%2e/admin/', 'dot segment'],
    ['/admin/%2f..', 'empty segment'],
    ['/../../etc', 'dot segment'],
    ['/a/.', 'dot segment'],
    ['/api\\admin', 'backslash'],
    ['/%5Cadmin', 'backslash'],
    ['/public/..;/admin', ';parameter'],
    ['/admin;jsessionid=1', ';parameter'],
    ['/x/%2e%2e%3b/admin', ';parameter'],
    ['/admin;/', ';parameter'],
    ['/%2561dmin', 'encoded twice'],
    ['/public/%252e%252e/admin', 'encoded twice'],
    ['/a%252Fb', 'encoded twice'],
  ])('cannot read %s (%s)', (target, why) => {
    const result = requestPath(target);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toContain(why);
  });

  // Segments and their spellings: plain, and percent-encoded in either case.
  const spell = (s: string) =>
    fc.constantFrom(
      s,
      encodeURIComponent(s),
      [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
      [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    );

  it('a path it reads is read the same way by a literal server, a WHATWG URL parser and a servlet container', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc
            .constantFrom('admin', 'Admin', 'a b', 'x', '.', '..', '', '..;', 'admin;p=1', '\\x')
            .chain((s) => fc.tuple(spell(s), fc.constantFrom('/', '//', '\\', '%2F', '%5c'))),
          { minLength: 1, maxLength: 8 },
        ),
        (parts) => {
          const target = parts.map(([spelled, slash], i) => `${i === 0 ? '/' : slash}${spelled}`).join('');
          const ours = requestPath(target);
          if (!ours.ok) return true;
          const literal = decodeURIComponent(target);
          const whatwg = decodeURIComponent(new URL(target, 'http://h').pathname);
          const servlet = literal.replace(/;[^/]*/g, '');
          return ours.path === literal && ours.path === whatwg && ours.path === servlet;
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('every path a standard URL parser resolves under /admin is read under /admin too', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(
            'admin',
            'x',
            '.',
            '..',
            '%2e',
            '%2E%2e',
            '',
            'Admin',
            '%61dmin',
            '..;',
            'admin;p=1',
            ';',
          ),
          {
            maxLength: 8,
          },
        ),
        (segments) => {
          const target = `/${segments.join('/')}`;
          // WHATWG URL resolves dot segments (also %2e) but keeps other escapes: decode them after.
          // As a plain server resolves it, and as a servlet container does (it drops `;parameters`
          // from each segment first).
          const resolve = (t: string) =>
            decodeURIComponent(new URL(`http://h${t}`).pathname).replace(/\/{2,}/g, '/');
          const underAdmin = [target, target.replace(/;[^/]*/g, '')].some((t) =>
            /^\/admin(\/|$)/.test(resolve(t)),
          );
          const ours = requestPath(target);
          return !underAdmin || !ours.ok || /^\/admin(\/|$)/.test(ours.path);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
