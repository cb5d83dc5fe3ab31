export type RequestPath =
  | { readonly ok: true; readonly path: string; readonly query: string }
  | { readonly ok: false; readonly error: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The path a policy rule matches, from a request target: the query cut off, percent-escapes decoded
 * (`/%61dmin` is `/admin`; an encoded `/` counts as one). A path that servers read in different ways
 * is not read at all (an error, which denies the request wherever a rule depends on the path), because
 * whatever one reading policy picks, the target may use another:
 * - dot segments (`/x/../admin`, `/%2e%2e/`): some servers resolve them, routers like Express match
 *   them as they are (`/public/*` matches `/public/../admin`);
 * - empty segments (`//`): WHATWG URL parsers (node applications) read `//host/admin` as a host;
 * - backslashes: WHATWG parsers read them as slashes, others as a character;
 * - `;parameters`: servlet containers (Tomcat, Jetty) drop them before resolving (`/x/..;/admin`).
 * - escapes encoded twice (`/%2561dmin`): one decoding leaves `/%61dmin`, which an application behind
 *   a front that decodes (nginx passing `$uri`) decodes again into `/admin` (Spring Security's
 *   firewall refuses `%25` for this reason).
 * Clients (browsers, curl, kubectl) never send such paths: they resolve them first.
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
  if (/%[0-9A-Fa-f]{2}/.test(decoded)) {
    return {
      ok: false,
      error:
        'the path is percent-encoded twice (%25XX), which a target behind a decoding front decodes again into another path',
    };
  }
  if (decoded.includes('\\')) {
    return { ok: false, error: 'the path has a backslash, which some servers read as a slash' };
  }
  const segments = decoded.split('/').slice(1);
  if (segments.some((segment, i) => segment === '' && i < segments.length - 1)) {
    return {
      ok: false,
      error:
        'the path has an empty segment (//), which servers read differently (URL parsers take //x for a host)',
    };
  }
  if (segments.some((segment) => segment === '.' || segment === '..')) {
    return {
      ok: false,
      error: 'the path has a dot segment (. or ..), which some servers resolve and others route as it is',
    };
  }
  if (decoded.includes(';')) {
    return {
      ok: false,
      error: 'the path has a ;parameter, which servlet containers drop from its segment and others keep',
    };
  }
  return { ok: true, path: decoded, query };
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
