import { text, type Node } from '../ast';

/**
 * Literal values of a WHERE clause, and how two of them compare whatever the column's type turns out
 * to be: the analysis does not know types, so equal means equal under every type PostgreSQL could
 * compare them as, and different means different under every one.
 */
export type Literal =
  | { readonly kind: 'num'; readonly n: number }
  | { readonly kind: 'str'; readonly s: string }
  | { readonly kind: 'bool'; readonly b: boolean }
  | { readonly kind: 'null' };
/** A value that does not come from the target row: a literal, or unknown (`sym`). */
export type Independent = Literal | { readonly kind: 'sym' };

export function literal(constant: Node): Literal {
  if (constant['isnull'] === true) return { kind: 'null' };
  const sval = constant['sval'] as Node | undefined;
  if (sval) return { kind: 'str', s: text(sval['sval']) };
  const ival = constant['ival'] as Node | undefined;
  if (ival) return { kind: 'num', n: Number(ival['ival'] ?? 0) };
  const fval = constant['fval'] as Node | undefined;
  if (fval) {
    const n = Number(text(fval['fval']));
    return Number.isFinite(n) ? { kind: 'num', n } : { kind: 'str', s: text(fval['fval']) };
  }
  const boolval = constant['boolval'] as Node | undefined;
  if (boolval) return { kind: 'bool', b: boolval['boolval'] === true };
  return { kind: 'str', s: '' };
}

export const BOOLEAN_WORDS = /^\s*(t|tr|tru|true|y|ye|yes|on|f|fa|fal|fals|false|n|no|of|off)\s*$/i;
const TRUE_WORDS = new Set(['t', 'tr', 'tru', 'true', 'y', 'ye', 'yes', 'on', '1']);
const FALSE_WORDS = new Set(['f', 'fa', 'fal', 'fals', 'false', 'n', 'no', 'of', 'off', '0']);

export function asBoolean(value: Independent): boolean | undefined {
  if (value.kind === 'bool') return value.b;
  if (value.kind === 'num') return value.n === 1 ? true : value.n === 0 ? false : undefined;
  if (value.kind === 'str') {
    const word = value.s.trim().toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return undefined;
}
export function numberOf(value: Independent): number | undefined {
  if (value.kind === 'num') return value.n;
  if (value.kind === 'str' && /^\s*[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?\s*$/i.test(value.s))
    return Number(value.s);
  return undefined;
}

/** Text as types compare it at their most lenient: case, punctuation, spacing and leading zeros ignored. */
function textKey(s: string): string {
  return (s.toLowerCase().match(/[a-z]+|\d+|[^\sa-z\d\p{P}\p{S}]+/gu) ?? [])
    .map((token) => (/^\d+$/.test(token) ? token.replace(/^0+(?=\d)/, '') : token))
    .join('|');
}

/** True only when the two values are equal under any type PostgreSQL could compare them as. */
export function equalLiterals(a: Independent, b: Independent): boolean {
  if (a.kind === 'sym' || b.kind === 'sym') return false;
  if (a.kind === 'bool' || b.kind === 'bool') {
    const [p, q] = [asBoolean(a), asBoolean(b)];
    return p !== undefined && p === q;
  }
  const [x, y] = [numberOf(a), numberOf(b)];
  if (x !== undefined && y !== undefined) return x === y;
  if (a.kind === 'str' && b.kind === 'str') return a.s === b.s;
  return false;
}

/** True only when the two values differ under any type PostgreSQL could compare them as. */
export function definitelyDifferent(a: Independent, b: Independent): boolean {
  if (a.kind === 'sym' || b.kind === 'sym' || a.kind === 'null' || b.kind === 'null') return false;
  const [x, y] = [numberOf(a), numberOf(b)];
  if (x !== undefined && y !== undefined) return x !== y;
  const [p, q] = [asBoolean(a), asBoolean(b)];
  if ((a.kind === 'bool' || b.kind === 'bool') && p !== undefined && q !== undefined) return p !== q;
  if (a.kind === 'str' && b.kind === 'str') return textKey(a.s) !== textKey(b.s);
  return false;
}

const ISO_DATE = /^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?\s*$/;

/** Numeric order of two literals (numbers, or ISO dates and times), or undefined when unknown. */
export function compare(a: Independent, b: Independent): number | undefined {
  const [x, y] = [numberOf(a), numberOf(b)];
  if (x !== undefined && y !== undefined) return Math.sign(x - y);
  const [d, e] = [dateOf(a), dateOf(b)];
  if (d !== undefined && e !== undefined) return Math.sign(d - e);
  return undefined;
}

export function dateOf(value: Independent): number | undefined {
  if (value.kind !== 'str') return undefined;
  const m = ISO_DATE.exec(value.s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac] = m;
  return (
    Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0)) +
    Number(frac ?? 0) * 1000
  );
}

/** Values beyond which no value of any ordered type lies (`x <= 'infinity'` is true for every x). */
export function extreme(value: Independent): 'max' | 'min' | undefined {
  if (value.kind !== 'str') return undefined;
  const word = value.s.trim().toLowerCase();
  if (word === 'infinity' || word === '+infinity' || word === 'nan') return 'max';
  if (word === '-infinity') return 'min';
  return undefined;
}
