import { Parser } from 'node-sql-parser';
import {
  allSources,
  callLineage,
  entryOf,
  expandStar as expandStarOf,
  joinedStar,
  outputAt,
  LineageContext as CoreContext,
  qualifiedColumn,
  relationLineage as coreRelationLineage,
  renamed,
  Scope as CoreScope,
  setOperation,
  single,
  SourceSet,
  TargetColumns,
  union,
  unqualifiedColumn,
  untraced,
  valuesColumns,
  wholeRow,
  withQuery,
  type ExprLineage,
  type FromItem,
  type LineageDialect,
  type QueryColumns,
  type RangeEntry,
} from '@tollgate/masking';
import type { LineageCatalog } from './lineage.types';

/**
 * node-sql-parser's MariaDB tree mapped onto the shared lineage core of @tollgate/masking: which
 * node is a column reference, a `*`, a FROM item, a CTE, a set operation, a function call. How
 * lineage propagates and what fails closed is the core's, shared with the PostgreSQL engine.
 */

/** A node of node-sql-parser's tree (MariaDB grammar). */
export type Node = Record<string, unknown>;

export { allSources, type QueryColumns };

/** Names visible at one query level; a named window is kept as the sources it reads. */
export type Scope = CoreScope<SourceSet>;
export type LineageContext = CoreContext<Node>;

export const Scope = CoreScope as new (parent?: Scope) => Scope;

export const parser = new Parser();
export const DIALECT = { database: 'MariaDB' } as const;

/**
 * Built-in functions that store an argument where the session (or another) can read it back: a
 * lock name (IS_USED_LOCK, information_schema), a sequence value, the session's LAST_INSERT_ID.
 */
const SIDE_EFFECT_FUNCTIONS = new Set(['get_lock', 'setval', 'last_insert_id']);

/** Built-ins whose value is not made from their arguments alone: a file's content, say. */
const UNTRACED_FUNCTIONS = new Set(['load_file']);

/**
 * Built-ins whose arguments decide how long the statement runs, which the client can time:
 * `SLEEP(IF(ssn LIKE '1%', 1, 0))` or `BENCHMARK(...)` tells the first digit as a WHERE would.
 */
const TIMING_FUNCTIONS = new Set(['sleep', 'benchmark']);

/** How MySQL's names, catalog and built-ins behave, for the core. */
export const MYSQL_DIALECT: LineageDialect<Node> = {
  // Column and alias names compare case-insensitively; table names are looked up as the catalog
  // holds them (lower_case_table_names=0 keeps case: every match is a candidate).
  fold: (name) => name.toLowerCase(),
  searchPath: false,
  partialColumnAliases: false,
  wholeRowReferences: false,
  outputAliasReferences: true,
  joinColumnsInTableOrder: true,
  sideEffectFunctions: SIDE_EFFECT_FUNCTIONS,
  untracedFunctions: UNTRACED_FUNCTIONS,
  timingFunctions: TIMING_FUNCTIONS,
  parse: (sql) => {
    try {
      const tree = parser.astify(sql, DIALECT) as unknown as Node | Node[];
      if (Array.isArray(tree)) return tree.length === 1 ? tree[0] : undefined;
      return tree;
    } catch {
      return undefined;
    }
  },
  query: (tree, ctx) => queryLineage(tree, undefined, ctx),
};

/**
 * MySQL in a session where code ran that the analysis did not see (a procedure, SQL it could not
 * parse): that code may have set user variables to masked values, so they are untraced.
 */
const UNTRACED_VARIABLES_DIALECT: LineageDialect<Node> = { ...MYSQL_DIALECT };

/**
 * A statement's analysis context over `catalog`, `database` being the session's current one;
 * `untracedVariables` when code the analysis did not see may have set the session's user variables.
 */
export function lineageContext(
  catalog: LineageCatalog,
  database: string | undefined,
  untracedVariables = false,
): LineageContext {
  return new CoreContext(catalog, untracedVariables ? UNTRACED_VARIABLES_DIALECT : MYSQL_DIALECT, database);
}

const lower = (name: string) => name.toLowerCase();
const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null;

/** An identifier as the tree holds it: a string, or `{expr: {value}}` / `{value}` for quoted ones. */
function identifier(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (!isNode(value)) return undefined;
  if (typeof value['value'] === 'string') return value['value'];
  return identifier(value['expr']);
}

// ---- queries -------------------------------------------------------------------------------

/** Lineage of a query: a SELECT (with its set operations), a subquery wrapper or VALUES. */
export function queryLineage(node: unknown, parent: Scope | undefined, ctx: LineageContext): QueryColumns {
  if (!isNode(node)) return { any: untraced('query') };
  if (isNode(node['ast'])) return queryLineage(node['ast'], parent, ctx);
  if (node['type'] === 'select') return selectLineage(node, parent, ctx);
  if (node['type'] === 'values') return valuesLineage(node, parent ?? new Scope(), ctx);
  return {
    any: union(
      untraced(`${String(node['type'])} as a query`),
      expr(node, parent ?? new Scope(), ctx).sources,
    ),
  };
}

/** A SELECT and the selects its set operations chain to it (`_next`): columns by position. */
export function selectLineage(head: Node, parent: Scope | undefined, ctx: LineageContext): QueryColumns {
  const scope = new Scope(parent);
  withClause(head['with'], scope, ctx);
  let result = simpleSelect(head, scope, ctx, false);
  let last = head;
  for (let next = head['_next']; isNode(next); next = next['_next']) {
    result = setOperation(result, simpleSelect(next, scope, ctx, true));
    last = next;
  }
  if (last !== head) {
    // ORDER BY and LIMIT after a set operation order its rows: the parenthesized form's (`_orderby`),
    // or the last select's when it has no parentheses.
    const whole = new Scope(scope);
    whole.outputs = result;
    ordering(head['_orderby'], whole, ctx);
    filter(head['_limit'], whole, ctx);
    if (last['parentheses_symbol'] !== true) ordering(last['orderby'], whole, ctx);
    // INTO on the last select stores the set operation's rows, whichever select they come from.
    if (selectsInto(head)) ctx.written.addAll(allSources(result));
  }
  return result;
}

function simpleSelect(select: Node, outer: Scope, ctx: LineageContext, ownWith: boolean): QueryColumns {
  const scope = new Scope(outer);
  if (ownWith) withClause(select['with'], scope, ctx);
  if (select['type'] !== 'select') return queryLineage(select, outer, ctx);
  fromClause(select['from'], scope, ctx);
  windowClause(select['window'], scope, ctx);
  const result = targetList(select['columns'], scope, ctx);
  scope.outputs = result;
  for (const key of ['where', 'having'] as const) filter(select[key], scope, ctx);
  const group = select['groupby'];
  ordering(isNode(group) && !Array.isArray(group) ? group['columns'] : group, scope, ctx);
  ordering(select['orderby'], scope, ctx);
  filter(select['limit'], scope, ctx);
  // SELECT ... INTO @var, OUTFILE or DUMPFILE stores the rows instead of returning them.
  const into = select['into'];
  if (isNode(into) && into['keyword'] !== undefined && into['keyword'] !== null)
    ctx.written.addAll(allSources(result));
  return result;
}

/** Whether a SELECT (or one of its set operation's selects) stores its rows with INTO. */
export function selectsInto(head: Node): boolean {
  for (let node: unknown = head; isNode(node); node = node['_next']) {
    const into = node['into'];
    if (isNode(into) && into['keyword'] !== undefined && into['keyword'] !== null) return true;
  }
  return false;
}

function valuesLineage(node: Node, scope: Scope, ctx: LineageContext): QueryColumns {
  const rows = (Array.isArray(node['values']) ? (node['values'] as unknown[]) : []).map((row) =>
    isNode(row) && Array.isArray(row['value']) ? (row['value'] as unknown[]) : [row],
  );
  // MariaDB names VALUES columns after the first row's values, which nothing here tries to follow.
  return valuesColumns(
    rows,
    (item) => expr(item, scope, ctx).sources,
    (i) => `\u0000values${i + 1}`,
  );
}

function withClause(clause: unknown, scope: Scope, ctx: LineageContext): void {
  if (!Array.isArray(clause)) return;
  const recursive = clause.some((cte) => isNode(cte) && cte['recursive'] === true);
  for (const cte of clause) {
    if (!isNode(cte)) continue;
    const aliases = Array.isArray(cte['columns'])
      ? (cte['columns'] as unknown[]).map((c) => (isNode(c) ? identifier(c['column']) : identifier(c)) ?? '')
      : [];
    withQuery(scope, lower(identifier(cte['name']) ?? ''), recursive, () =>
      renamed(queryLineage(cte['stmt'], scope, ctx), aliases, ctx),
    );
  }
}

function windowClause(clause: unknown, scope: Scope, ctx: LineageContext): void {
  if (!isNode(clause)) return;
  const sources = expr(clause, scope, ctx).sources;
  scope.windows.set('', sources);
  ctx.filtered.addAll(sources);
}

/** The select list: each item's lineage, `*` and `t.*` expanded from FROM. */
export function targetList(columns: unknown, scope: Scope, ctx: LineageContext): QueryColumns {
  const items = columns === '*' ? [{ expr: { type: 'column_ref', table: null, column: '*' } }] : columns;
  const out = new TargetColumns();
  for (const item of Array.isArray(items) ? items : []) {
    if (!isNode(item)) continue;
    const value = item['expr'];
    if (isNode(value) && value['type'] === 'column_ref' && identifier(value['column']) === '*') {
      const table = identifier(value['table']);
      const db = identifier(value['db']);
      out.addAll(expandStarOf(scope, ctx, table === undefined ? undefined : qualifier(db, table)));
      continue;
    }
    out.add(identifier(item['as']) ?? outputName(value), expr(value, scope, ctx));
  }
  return out.result();
}

/** The name MySQL gives an unaliased result column: a column's own name; otherwise not followed. */
function outputName(value: unknown): string {
  if (isNode(value) && value['type'] === 'column_ref') return identifier(value['column']) ?? '\u0000expr';
  return '\u0000expr';
}

function qualifier(db: string | undefined, table: string): { schema?: string; table: string } {
  return db === undefined ? { table } : { schema: db, table };
}

// ---- FROM ----------------------------------------------------------------------------------

/** FROM items (a SELECT's, or the tables of UPDATE and DELETE) added to `scope`. */
export function fromClause(items: unknown, scope: Scope, ctx: LineageContext): void {
  // A comma binds less tightly than JOIN: `a, b JOIN c USING (id)` joins b and c, then a with that.
  let joined = 0;
  for (const item of Array.isArray(items) ? items : []) {
    if (!isNode(item)) continue;
    if (!str(item['join'])) joined = scope.items.length;
    fromItem(item, scope, ctx, joined);
  }
}

/** One FROM item; `joined` is where the join it belongs to starts among the scope's items. */
function fromItem(item: Node, scope: Scope, ctx: LineageContext, joined: number): void {
  const entry = rangeEntry(item, scope, ctx);
  scope.entries.push(entry);
  const own: FromItem = single(entry);
  const join = str(item['join'])?.toUpperCase();
  const using = Array.isArray(item['using'])
    ? (item['using'] as unknown[]).map((u) => identifier(u) ?? '')
    : [];
  const natural = join?.includes('NATURAL') === true;
  if (join && (using.length > 0 || natural)) {
    // USING and NATURAL merge the common columns of what this join holds so far with this item's;
    // MySQL reads RIGHT JOIN as LEFT JOIN with the sides swapped, so the right side's come first.
    const items = scope.items.slice(joined);
    const left: QueryColumns = items.every((i) => 'columns' in i.star)
      ? { columns: items.flatMap((i) => ('columns' in i.star ? i.star.columns : [])) }
      : { any: union(...items.map((i) => allSources(i.star))) };
    const star = joinedStar(left, own.star, using, natural, ctx, join.includes('RIGHT'));
    scope.items = [
      ...scope.items.slice(0, joined),
      { entries: [...items.flatMap((i) => i.entries), entry], star },
    ];
  } else {
    scope.items.push(own);
  }
  filter(item['on'], scope, ctx);
}

function rangeEntry(item: Node, scope: Scope, ctx: LineageContext): RangeEntry {
  const alias = identifier(item['as']);
  const table = identifier(item['table']);
  const inner = item['expr'];
  if (table !== undefined && !isNode(inner)) {
    const db = identifier(item['db']);
    if (lower(table) === 'dual' && db === undefined)
      return { alias: 'dual', columns: [], any: new SourceSet() };
    const cte = db === undefined ? scope.cte(lower(table)) : undefined;
    const result = cte ?? relationLineage(table, db ?? ctx.database, ctx);
    // An alias hides the table's own name (and database) from column references.
    return entryOf(
      lower(alias ?? table),
      result,
      alias === undefined ? lower(db ?? ctx.database ?? '') : undefined,
    );
  }
  if (isNode(inner) && (isNode(inner['ast']) || inner['type'] === 'select' || inner['type'] === 'values')) {
    // A derived table sees the levels outside, not the FROM items before it (no LATERAL in MariaDB).
    const columnNames = Array.isArray(item['columns'])
      ? (item['columns'] as unknown[]).map((c) => identifier(isNode(c) ? (c['column'] ?? c) : c) ?? '')
      : [];
    return entryOf(
      alias === undefined ? undefined : lower(alias),
      renamed(queryLineage(inner, scope.outside(), ctx), columnNames, ctx),
    );
  }
  // A table function (JSON_TABLE, ...) or anything else: its columns are made from all it reads.
  return {
    alias: alias === undefined ? undefined : lower(alias),
    columns: undefined,
    any: union(expr(item, scope, ctx).sources, untraced('a FROM item of unknown shape')),
  };
}

/** A stored relation's columns: tables as themselves, views through their definitions. */
export function relationLineage(name: string, schema: string | undefined, ctx: LineageContext): QueryColumns {
  const db = schema?.toLowerCase();
  // Server tables that hold values read from other tables: statistics (`ANALYZE ... PERSISTENT`
  // stores each column's min and max) and statement history (error messages quoting values).
  if (db === 'performance_schema' || (db === 'mysql' && VALUE_HOLDING_TABLES.has(name.toLowerCase())))
    return { any: untraced(`${db}.${name}, which holds values of other tables`) };
  return coreRelationLineage(name, schema, ctx);
}

/** Tables of the `mysql` schema whose rows hold values of other tables' columns. */
const VALUE_HOLDING_TABLES = new Set(['column_stats', 'general_log', 'slow_log']);

// ---- filters -------------------------------------------------------------------------------

/** An expression rows are filtered, joined, grouped or ordered by. */
export function filter(node: unknown, scope: Scope, ctx: LineageContext): void {
  if (node === undefined || node === null) return;
  ctx.filtered.addAll(expr(node, scope, ctx).sources);
}

/** GROUP BY and ORDER BY items: a number names a result column by its position. */
function ordering(items: unknown, scope: Scope, ctx: LineageContext): void {
  for (const item of Array.isArray(items) ? (items as unknown[]) : [items]) {
    const value = isNode(item) && isNode(item['expr']) ? item['expr'] : item;
    const position = isNode(value) && value['type'] === 'number' ? value['value'] : undefined;
    if (typeof position === 'number') ctx.filtered.addAll(outputAt(scope, position) ?? new SourceSet());
    else filter(item, scope, ctx);
  }
}

// ---- expressions ---------------------------------------------------------------------------

/** Keys of the tree that hold no expression. */
const SKIPPED_KEYS = new Set(['loc', 'tableList', 'columnList', 'type', 'as']);

export function expr(node: unknown, scope: Scope, ctx: LineageContext): ExprLineage {
  if (Array.isArray(node)) return { sources: union(...node.map((item) => expr(item, scope, ctx))) };
  if (!isNode(node)) return { sources: new SourceSet() };
  if (isNode(node['ast'])) return { sources: allSources(queryLineage(node['ast'], scope, ctx)) };
  switch (node['type']) {
    case 'column_ref':
      return columnRef(node, scope, ctx);
    case 'select':
    case 'values':
      return { sources: allSources(queryLineage(node, scope, ctx)) };
    case 'function':
      return functionCall(node, scope, ctx);
    case 'assign': {
      // `@v := value` (and SET's assignments): the value is stored in a variable.
      const value = expr(node['right'], scope, ctx).sources;
      ctx.written.addAll(value);
      return { sources: value };
    }
    case 'var':
      // User variables hold no masked value: every statement that would store one is denied, unless
      // code the analysis did not see ran in the session.
      if (node['prefix'] === '@' && ctx.dialect === UNTRACED_VARIABLES_DIALECT)
        return { sources: untraced('a user variable, which code that ran in the session may have set') };
      return { sources: new SourceSet() };
    default:
      return generic(node, scope, ctx);
  }
}

/** Any other expression (operators, CAST, CASE, aggregates, windows, ...): made from all in it. */
function generic(node: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const sources = new SourceSet();
  for (const key in node) {
    if (SKIPPED_KEYS.has(key)) continue;
    const value = node[key];
    if (key === 'over' && isNode(value)) {
      const spec = value['as_window_specification'];
      // OVER w names a window of the WINDOW clause: its partitioning and ordering decide the value.
      if (typeof spec === 'string') sources.addAll(windowsOf(scope));
    }
    if (typeof value === 'object' && value !== null) sources.addAll(expr(value, scope, ctx).sources);
  }
  return { sources };
}

function windowsOf(scope: Scope): SourceSet {
  const sources = new SourceSet();
  for (let level: Scope | undefined = scope; level; level = level.parent)
    for (const window of level.windows.values()) sources.addAll(window);
  return sources;
}

function functionCall(node: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const parts = functionName(node['name']);
  const args = generic(node, scope, ctx).sources;
  if (parts.length === 1 && lower(parts[0] as string) === 'exists') {
    // EXISTS says only whether rows exist: what decided that is filtered on, not returned.
    ctx.filtered.addAll(args);
    return { sources: new SourceSet() };
  }
  return callLineage(parts, args, ctx);
}

function functionName(name: unknown): string[] {
  if (typeof name === 'string') return [name];
  if (!isNode(name)) return [];
  const parts = name['name'];
  const schema = identifier(name['schema']);
  const own = Array.isArray(parts) ? parts.map((p) => identifier(p) ?? '') : [identifier(parts) ?? ''];
  return schema ? [schema, ...own] : own;
}

function columnRef(node: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const column = identifier(node['column']);
  const table = identifier(node['table']);
  const db = identifier(node['db']);
  if (column === undefined) return { sources: untraced('a column reference the parser left unnamed') };
  let found: ExprLineage;
  if (column === '*')
    found = table === undefined ? { sources: untraced('*') } : wholeRow(scope, ctx, qualifier(db, table));
  else if (table === undefined) found = unqualifiedColumn(scope, ctx, column);
  else found = qualifiedColumn(scope, ctx, qualifier(db, table), column);
  // COLLATE and CONVERT's USING change the value's bytes: no longer the column itself.
  const changed = (node['collate'] !== undefined && node['collate'] !== null) || node['suffix'] !== undefined;
  return changed ? { sources: found.sources } : found;
}
