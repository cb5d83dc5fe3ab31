export type RequestPath =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The path a policy rule matches, from a request target: the query cut off, percent-escapes decoded
 * (an encoded `/` or `.` counts as one), backslashes read as slashes, empty and `.` segments dropped
 * and `..` resolved. It reads the target the way the most permissive server would, so that no
 * spelling of `/admin` (`//admin`, `/x/../admin`, `/%61dmin`, `/%2e%2e/admin`) escapes a rule on
 * `/admin*`. What cannot be read (bad escapes, not UTF-8, control characters) or reads as two
 * paths on two kinds of server (repeated slashes before `..`, `;parameters` in a segment) is an
 * error, which denies the request wherever a rule depends on the path.
 */
export function requestPath(target: string): RequestPath {
  if (target === '*') return { ok: true, path: '*', query: '' };
  let rest = target;
  const absolute = /^https?:\/\/[^/?#]*/i.exec(rest);
  if (absolute) rest = rest.slice(absolute[0].length) || '/';
  if (!rest.startsWith('/')) return { ok: false, error: 'the request target is not a path' };
  if (rest.includes('#')) return { ok: false, error: 'the request target has a fragment' };
  const question = rest.indexOf('?');
  const rawPath = question < 0 ? rest : rest.slice(0, question);
  const query = question < 0 ? '' : rest.slice(question + 1);
  const decoded = percentDecode(rawPath);
  if (decoded === undefined)
    return { ok: false, error: 'the path has a malformed percent-escape or is not UTF-8' };
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(decoded)) return { ok: false, error: 'the path has control characters' };
  const slashed = decoded.replace(/\\/g, '/');
  // Servers that merge repeated slashes and servers that keep them resolve `/a//..` differently
  // (`/` and `/a/`); a path read two ways is not read at all.
  const merged = removeDotSegments(slashed, true);
  if (merged !== removeDotSegments(slashed, false)) {
    return { ok: false, error: 'the path resolves differently where servers merge repeated slashes' };
  }
  // Servlet containers (Tomcat, Jetty) drop `;parameters` from each segment before resolving, so
  // `/x/..;/admin` is `/admin` there and `/admin;a=b` is `/admin`; others keep them. Same rule.
  if (slashed.includes(';') && merged !== removeDotSegments(slashed.replace(/;[^/]*/g, ''), true)) {
    return {
      ok: false,
      error: 'the path resolves differently where servers drop ;parameters from its segments',
    };
  }
  return { ok: true, path: merged, query };
}

function percentDecode(text: string): string | undefined {
  if (!text.includes('%')) return text;
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x25) {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(text[i]!, 'utf8'));
    }
  }
  try {
    return utf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/**
 * RFC 3986 dot-segment removal; `mergeFirst` drops empty segments before (as servers that merge
 * slashes do), otherwise they count as segments and are merged only in the result.
 */
function removeDotSegments(path: string, mergeFirst: boolean): string {
  const segments = path.split('/').slice(1);
  const out: string[] = [];
  let trailingSlash = false;
  for (const segment of segments) {
    trailingSlash = segment === '' || segment === '.' || segment === '..';
    if (segment === '..') out.pop();
    else if (segment !== '.' && !(mergeFirst && segment === '')) out.push(segment);
  }
  const kept = out.filter((segment) => segment !== '');
  const joined = `/${kept.join('/')}`;
  return (trailingSlash || out[out.length - 1] === '') && kept.length > 0 ? `${joined}/` : joined;
}
