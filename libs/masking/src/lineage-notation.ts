import { isUntraced, type LineageOfStatement, type LineageSource, type SourceColumn } from './lineage';

/**
 * A statement's lineage in a line, the notation of both engines' lineage corpora: each output column
 * as `p` (a plain reference to a masked column), `d` (made from a masked column), `u` (untraced) or
 * `-` (clear), `any:x` when only the sources of every column are known, `none` without rows, `empty`
 * for rows of no column; then ` W` when the statement writes masked or untraced values, ` F` when
 * it filters on them and ` R` when it renames them (or moves them out of their names).
 */
export function lineageNotation(
  statement: LineageOfStatement,
  isMasked: (column: SourceColumn) => boolean,
): string {
  const masked = (s: LineageSource) => isUntraced(s) || isMasked(s);
  const mark = (plain: boolean, sources: readonly LineageSource[]) =>
    sources.some(isUntraced) ? 'u' : sources.some(masked) ? (plain ? 'p' : 'd') : '-';
  const out = statement.outputs;
  let line: string;
  if (!out) line = 'none';
  else if (out.columns)
    line = out.columns.map((c) => mark(c.plain !== undefined, c.sources)).join(' ') || 'empty';
  else line = `any:${mark(false, out.anyColumn)}`;
  if (statement.written.some(masked)) line += ' W';
  if (statement.filtered.some(masked)) line += ' F';
  if ((statement.renamed ?? []).some(masked)) line += ' R';
  return line;
}
