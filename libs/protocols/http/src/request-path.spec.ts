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
    ['//admin', '/admin'],
    ['/a//b', '/a/b'],
    ['/x/../admin', '/admin'],
    ['/x/%2e%2e/admin', '/admin'],
    ['/%2E%2E/%2e/admin/', '/admin/'],
    ['/%61dmin', '/admin'],
    ['/api%2Fadmin', '/api/admin'],
    ['/api\\admin', '/api/admin'],
    ['/../../etc', '/etc'],
    ['/a/.', '/a/'],
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
    ['/admin//..', 'merge repeated slashes'],
    ['/admin/%2f..', 'merge repeated slashes'],
    ['/public/..;/admin', 'drop ;parameters'],
    ['/admin;jsessionid=1', 'drop ;parameters'],
    ['/x/%2e%2e%3b/admin', 'drop ;parameters'],
    ['/admin;/', 'drop ;parameters'],
  ])('cannot read %s (%s)', (target, why) => {
    const result = requestPath(target);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.error).toContain(why);
  });

  // Segments and their spellings: every spelling of a segment must normalize like the plain one.
  const segment = fc.constantFrom('admin', 'api', 'v1', 'a b', 'x', '.', '..', '');
  const spell = (s: string) =>
    fc.constantFrom(
      s,
      encodeURIComponent(s),
      [...s].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''),
      [...s].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join(''),
    );

  it('no spelling of a path (percent-escapes, doubled slashes, backslashes) reads as another path than the plain one', () => {
    fc.assert(
      fc.property(
        fc.array(
          segment.chain((s) => fc.tuple(fc.constant(s), spell(s), fc.constantFrom('/', '//', '\\', '%2F'))),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        (parts) => {
          const plain = parts.map(([s]) => `/${s}`).join('');
          const spelled = parts.map(([, spelled, slash], i) => `${i === 0 ? '/' : slash}${spelled}`).join('');
          const read = requestPath(spelled);
          // Unreadable (read two ways) is fine: it is denied wherever a rule depends on the path.
          return !read.ok || read.path === pathOf(plain.replace(/ /g, '%20'));
        },
      ),
      { numRuns: 1000 },
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
