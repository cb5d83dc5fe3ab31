const compiled = new Map<string, RegExp>();

/**
 * Shell-style glob: `*` matches any run of characters (including none), `?` exactly one; everything
 * else is literal. Policies are written by people, so nothing else (no character classes, no
 * braces) is special: a pattern means what it looks like.
 */
export function globToRegExp(pattern: string, flags = ''): RegExp {
  const key = `${flags}/${pattern}`;
  let re = compiled.get(key);
  if (!re) {
    let source = '';
    for (const ch of pattern) {
      if (ch === '*') source += '.*';
      else if (ch === '?') source += '.';
      else source += ch.replace(/[\\^$.|+()[\]{}/-]/g, '\\$&');
    }
    re = new RegExp(`^${source}$`, `s${flags}`);
    compiled.set(key, re);
  }
  return re;
}

export function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  return globToRegExp(pattern).test(value);
}

/** Case-insensitive variant, for e-mail addresses and HTTP methods. */
export function globMatchIgnoreCase(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  return globToRegExp(pattern, 'i').test(value);
}
