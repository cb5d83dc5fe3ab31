/** LIKE patterns as the analysis handles them: parsed into wildcards and literal characters. */

/** A LIKE pattern as its parts: '%', '_' and literal characters (as one-character strings prefixed by `=`). */
export function parseLike(pattern: string, escape: string): string[] {
  const parts: string[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (escape !== '' && c === escape && i + 1 < pattern.length) parts.push(`=${pattern[++i] as string}`);
    else if (c === '%' || c === '_') parts.push(c);
    else parts.push(`=${c}`);
  }
  return parts;
}

export function likeSource(parts: readonly string[]): string {
  return JSON.stringify(parts);
}

export function likeMatches(value: string, source: string, ci: boolean): boolean {
  const parts = JSON.parse(source) as string[];
  const regex = parts
    .map((p) =>
      p === '%' ? '[\\s\\S]*' : p === '_' ? '[\\s\\S]' : p.slice(1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${regex}$`, ci ? 'iu' : 'u').test(value);
}

export function likeLiterals(source: string): string[] {
  return (JSON.parse(source) as string[]).filter((p) => p.startsWith('=')).map((p) => p.slice(1));
}
