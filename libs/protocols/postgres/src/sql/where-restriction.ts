import { list, text, type Node } from './ast';
import { falsifiable } from './where/falsify';
import { FormulaBuilder, TooComplex } from './where/formula';
import { Scope } from './where/scope';

/**
 * Does the WHERE clause of an UPDATE or DELETE restrict the rows it touches, or could it be true for
 * every row of the target table? `WHERE true`, `WHERE 1 = 1`, `WHERE id = id`, `WHERE x = 5 OR
 * x <> 5`, `WHERE id IN (SELECT id FROM same_table)` all touch every row; `require_where` must treat
 * them as no WHERE at all.
 *
 * The rule (docs/policy.md, "require_where"): a WHERE restricts when there is a row, with non-null
 * values in the columns it compares, for which it is not true, whatever the values of parameters,
 * other tables and subqueries. The analysis proves that by building such a row from the *pins* of the
 * predicate: a comparison of a column of the target table (bare, or cast) with a value that does not
 * come from the same row (a constant, a parameter, a column of another relation that does not read
 * the target table, a subquery over other relations, an expression of those), by `=`, `<>`, `<`,
 * `<=`, `>`, `>=`, `IS [NOT] DISTINCT FROM`, `[NOT] IN`, `= ANY`, `<> ALL`, `[NOT] BETWEEN`,
 * `[NOT] LIKE`/`ILIKE` a constant pattern, `IS NULL`, `IS [NOT] TRUE/FALSE`, a bare boolean column,
 * `EXISTS` correlated by `subquery_column = target.column`, or `WHERE CURRENT OF`. `NOT` is pushed
 * inward; constants are folded where that proves a branch false. To be false, an AND needs one false
 * part and an OR needs every part false, all in the same row: the values the chosen pins' negations
 * demand of one column must be compatible, which is decided with numbers compared as numbers, text
 * ignoring case, punctuation and leading zeros, and dates by their digits. Anything else fails
 * closed: a part that is not a pin (a function of a target column, `CASE`, a comparison of two target
 * columns, an unqualified column when other relations are joined) can never be the false part.
 *
 * What it cannot know: column types (an enum or domain with few values; a bound beyond the type's
 * range such as `id > -3000000000` on an integer), views or functions that read the target table, or
 * the data (`id > 0` when every id is positive). It reasons about the SQL, not the rows.
 */
export function whereRestricts(
  kind: string,
  body: Node,
  ctes: ReadonlyMap<string, readonly Node[]>,
): boolean {
  const where = body['whereClause'];
  if (where === undefined) return false;
  const relation = body['relation'] as Node | undefined;
  if (!relation) return false;
  const relname = text(relation['relname']);
  const alias = text((relation['alias'] as Node | undefined)?.['aliasname']);
  const others = list(body[kind === 'UpdateStmt' ? 'fromClause' : 'usingClause']);
  const scope = new Scope(relname, alias, ctes);
  for (const item of others) scope.addOther(item);
  try {
    const formula = new FormulaBuilder(scope).predicate(where, false);
    return falsifiable(formula);
  } catch (error) {
    if (error instanceof TooComplex) return false;
    throw error;
  }
}
