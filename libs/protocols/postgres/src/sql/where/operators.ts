import { names } from '../ast';

export const COMPARISONS: Record<string, '=' | '<>' | '<' | '<=' | '>' | '>='> = {
  '=': '=',
  '<>': '<>',
  '!=': '<>',
  '<': '<',
  '<=': '<=',
  '>': '>',
  '>=': '>=',
};
export const FLIP: Record<string, '=' | '<>' | '<' | '<=' | '>' | '>='> = {
  '=': '=',
  '<>': '<>',
  '<': '>',
  '<=': '>=',
  '>': '<',
  '>=': '<=',
};
export const NEGATE: Record<string, '=' | '<>' | '<' | '<=' | '>' | '>='> = {
  '=': '<>',
  '<>': '=',
  '<': '>=',
  '<=': '>',
  '>': '<=',
  '>=': '<',
};
export const LIKE_OPERATORS: Record<string, { ci: boolean; negated: boolean }> = {
  '~~': { ci: false, negated: false },
  '!~~': { ci: false, negated: true },
  '~~*': { ci: true, negated: false },
  '!~~*': { ci: true, negated: true },
};
export function operatorName(value: unknown): string | undefined {
  const parts = names(value);
  // OPERATOR(pg_catalog.=) is the built-in; an operator from another schema could mean anything.
  if (parts.length === 2 && parts[0] !== 'pg_catalog') return undefined;
  if (parts.length > 2) return undefined;
  return parts.at(-1);
}
