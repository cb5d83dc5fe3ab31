import { parseSync } from 'libpg-query';
import type { Node } from './ast';

const MAX_CACHED_TREES = 256;
const MAX_CACHED_SQL_LENGTH = 4096;
const trees = new Map<string, readonly Node[] | string>();

/**
 * The parse tree of each statement of a query string (or the parser's error message), recent ones
 * kept (LRU, short ones): the classifier and the lineage analysis read the same text one after the other, and
 * view definitions are parsed again at each analysis that reads the view. Trees are shared: callers
 * must not change them.
 */
export function parseStatements(sql: string): readonly Node[] | string {
  const cached = trees.get(sql);
  if (cached !== undefined) {
    trees.delete(sql);
    trees.set(sql, cached);
    return cached;
  }
  let parsed: readonly Node[] | string;
  try {
    parsed = ((parseSync(sql) as { stmts?: { stmt: Node }[] }).stmts ?? []).map((s) => s.stmt);
  } catch (error) {
    parsed = error instanceof Error ? error.message : String(error);
  }
  if (sql.length <= MAX_CACHED_SQL_LENGTH) {
    trees.set(sql, parsed);
    if (trees.size > MAX_CACHED_TREES) trees.delete(trees.keys().next().value as string);
  }
  return parsed;
}

/** Drops every cached parse tree (for measuring uncached work). */
export function clearParseCache(): void {
  trees.clear();
}
