import { SourceSet, type SourceColumn } from '@tollgate/masking';
import type { LineageCatalog, RelationFacts } from './lineage.types';

/** A node of node-sql-parser's tree (MariaDB grammar). */
export type Node = Record<string, unknown>;

/** One column of something in FROM (or of a query's result). */
export interface Column {
  readonly name: string;
  readonly plain?: SourceColumn;
  readonly sources: SourceSet;
}

/** A query's result: its columns, or (shape unknown) the sources any of its columns may hold. */
export type QueryColumns = { readonly columns: readonly Column[] } | { readonly any: SourceSet };

/** Something in FROM that a column reference can name. */
interface RangeEntry {
  /** The name that qualifies its columns (lower case): the alias, or the table's own name. */
  readonly alias: string | undefined;
  /** The database, when the entry is a table named without an alias (`db.t.c`). */
  readonly schema?: string;
  readonly columns: readonly Column[] | undefined;
  readonly any: SourceSet;
}

/** What `*` over the FROM items so far expands to (a join USING merges its common columns). */
interface FromItem {
  readonly entries: readonly RangeEntry[];
  readonly star: QueryColumns;
}

/** Names visible at one query level, and the levels around it (correlated subqueries). */
export class Scope {
  readonly entries: RangeEntry[] = [];
  items: FromItem[] = [];
  readonly ctes = new Map<string, QueryColumns>();
  /** Sources of the level's named windows (WINDOW w AS ...), which OVER w reads. */
  readonly windows = new SourceSet();
  /** Output columns, for HAVING and ORDER BY that name a result column by its alias. */
  outputs: QueryColumns | undefined;

  constructor(readonly parent?: Scope) {}

  cte(name: string): QueryColumns | undefined {
    return this.ctes.get(name) ?? this.parent?.cte(name);
  }
}

/** Everything one statement's analysis accumulates. */
export class LineageContext {
  readonly written = new SourceSet();
  readonly filtered = new SourceSet();
  missingRelations = new Map<string, { name: string; schema: string }>();
  missingFunctions = new Set<string>();

  constructor(
    readonly catalog: LineageCatalog,
    /** The database unqualified table names are in (USE); undefined: none selected. */
    readonly database: string | undefined,
    /** Parses a view's definition. */
    readonly parse: (sql: string) => Node | undefined,
    private readonly viewDepth = 0,
  ) {}

  /** A context for a view's query: its own database, one level deeper, sharing what is missing. */
  view(database: string): LineageContext | undefined {
    if (this.viewDepth >= MAX_VIEW_DEPTH) return undefined;
    const inner = new LineageContext(this.catalog, database, this.parse, this.viewDepth + 1);
    inner.missingRelations = this.missingRelations;
    inner.missingFunctions = this.missingFunctions;
    return inner;
  }
}

const MAX_VIEW_DEPTH = 12;
const MAX_RECURSION_ROUNDS = 16;

export function untraced(reason: string): SourceSet {
  return SourceSet.of({ untraced: reason });
}

export function union(...parts: readonly (SourceSet | undefined)[]): SourceSet {
  const out = new SourceSet();
  for (const part of parts) if (part) out.addAll(part);
  return out;
}

export function allSources(result: QueryColumns): SourceSet {
  if (!('columns' in result)) return result.any;
  return union(...result.columns.map((c) => c.sources));
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
  for (let next = head['_next']; isNode(next); next = next['_next'])
    result = setOperation(result, simpleSelect(next, scope, ctx, true));
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
  filter(isNode(group) && !Array.isArray(group) ? group['columns'] : group, scope, ctx);
  filter(select['orderby'], scope, ctx);
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

function setOperation(left: QueryColumns, right: QueryColumns): QueryColumns {
  if (!('columns' in left) || !('columns' in right) || left.columns.length !== right.columns.length)
    return { any: union(allSources(left), allSources(right)) };
  const rightColumns = right.columns;
  // A value that went through UNION, INTERSECT or EXCEPT is no longer a plain reference.
  return {
    columns: left.columns.map((column, i) => ({
      name: column.name,
      sources: union(column.sources, rightColumns[i]?.sources),
    })),
  };
}

function valuesLineage(node: Node, scope: Scope, ctx: LineageContext): QueryColumns {
  const columns: SourceSet[] = [];
  const rows = node['values'];
  for (const row of Array.isArray(rows) ? rows : []) {
    const items = isNode(row) && Array.isArray(row['value']) ? (row['value'] as unknown[]) : [row];
    items.forEach((item, i) => {
      columns[i] = union(columns[i], expr(item, scope, ctx).sources);
    });
  }
  // MariaDB names VALUES columns after the first row's values, which nothing here tries to follow.
  return { columns: columns.map((sources, i) => ({ name: `\u0000values${i + 1}`, sources })) };
}

function withClause(clause: unknown, scope: Scope, ctx: LineageContext): void {
  if (!Array.isArray(clause)) return;
  const recursive = clause.some((cte) => isNode(cte) && cte['recursive'] === true);
  for (const cte of clause) {
    if (!isNode(cte)) continue;
    const name = lower(identifier(cte['name']) ?? '');
    const aliases = Array.isArray(cte['columns'])
      ? (cte['columns'] as unknown[]).map((c) => (isNode(c) ? identifier(c['column']) : identifier(c)) ?? '')
      : [];
    const query = cte['stmt'];
    if (recursive) {
      // A recursive CTE reads itself: start from nothing known, widen until each column's sources
      // settle (a value can move one column per round).
      scope.ctes.set(name, { any: new SourceSet() });
      let result: QueryColumns = { columns: [] };
      let settled = false;
      for (let round = 0; round < MAX_RECURSION_ROUNDS && !settled; round++) {
        const next = derivedOnly(renamed(queryLineage(query, scope, ctx), aliases));
        settled = round > 0 && signature(next) === signature(result);
        result = next;
        scope.ctes.set(name, result);
      }
      if (!settled) scope.ctes.set(name, { any: allSources(result) });
    } else {
      scope.ctes.set(name, renamed(queryLineage(query, scope, ctx), aliases));
    }
  }
}

function signature(result: QueryColumns): string {
  return 'columns' in result ? result.columns.map((c) => c.sources.size).join(',') : `any ${result.any.size}`;
}

function derivedOnly(result: QueryColumns): QueryColumns {
  if (!('columns' in result)) return result;
  return { columns: result.columns.map((c) => ({ name: c.name, sources: c.sources })) };
}

function renamed(result: QueryColumns, aliases: readonly string[]): QueryColumns {
  if (aliases.length === 0 || !('columns' in result)) return result;
  // A column list that does not match the query's is an error on the server; fail closed anyway.
  if (aliases.length !== result.columns.length) return { any: allSources(result) };
  return { columns: result.columns.map((c, i) => ({ ...c, name: aliases[i] ?? c.name })) };
}

function windowClause(clause: unknown, scope: Scope, ctx: LineageContext): void {
  if (!isNode(clause)) return;
  const sources = expr(clause, scope, ctx).sources;
  scope.windows.addAll(sources);
  ctx.filtered.addAll(sources);
}

/** The select list: each item's lineage, `*` and `t.*` expanded from FROM. */
export function targetList(columns: unknown, scope: Scope, ctx: LineageContext): QueryColumns {
  const items = columns === '*' ? [{ expr: { type: 'column_ref', table: null, column: '*' } }] : columns;
  const out: Column[] = [];
  let unknownShape: SourceSet | undefined;
  for (const item of Array.isArray(items) ? items : []) {
    if (!isNode(item)) continue;
    const value = item['expr'];
    if (isNode(value) && value['type'] === 'column_ref' && identifier(value['column']) === '*') {
      const expanded = expandStar(value, scope);
      if ('columns' in expanded) out.push(...expanded.columns);
      else unknownShape = union(unknownShape, expanded.any);
      continue;
    }
    const lineage = expr(value, scope, ctx);
    const name = identifier(item['as']) ?? outputName(value);
    out.push({ name, ...(lineage.plain ? { plain: lineage.plain } : {}), sources: lineage.sources });
  }
  if (unknownShape) return { any: union(unknownShape, ...out.map((c) => c.sources)) };
  return { columns: out };
}

/** The name MySQL gives an unaliased result column: a column's own name; otherwise not followed. */
function outputName(value: unknown): string {
  if (isNode(value) && value['type'] === 'column_ref') return identifier(value['column']) ?? '\u0000expr';
  return '\u0000expr';
}

function expandStar(ref: Node, scope: Scope): QueryColumns {
  const table = identifier(ref['table']);
  if (table === undefined) {
    const columns: Column[] = [];
    for (const item of scope.items) {
      if (!('columns' in item.star)) return { any: union(...scope.items.map((i) => allSources(i.star))) };
      columns.push(...item.star.columns);
    }
    return { columns };
  }
  const entries = findEntries(identifier(ref['db']), table, scope);
  if (entries.length !== 1) return { any: union(untraced(`${table}.*`), ...entries.map((e) => e.any)) };
  const [entry] = entries as [RangeEntry];
  return entry.columns ? { columns: entry.columns } : { any: entry.any };
}

// ---- FROM ----------------------------------------------------------------------------------

/** FROM items (a SELECT's, or the tables of UPDATE and DELETE) added to `scope`. */
export function fromClause(items: unknown, scope: Scope, ctx: LineageContext): void {
  for (const item of Array.isArray(items) ? items : []) if (isNode(item)) fromItem(item, scope, ctx);
}

function fromItem(item: Node, scope: Scope, ctx: LineageContext): void {
  const entry = rangeEntry(item, scope, ctx);
  scope.entries.push(entry);
  const own: FromItem = {
    entries: [entry],
    star: entry.columns ? { columns: entry.columns } : { any: entry.any },
  };
  const join = str(item['join'])?.toUpperCase();
  const using = Array.isArray(item['using'])
    ? (item['using'] as unknown[]).map((u) => lower(identifier(u) ?? ''))
    : [];
  const natural = join?.includes('NATURAL') === true;
  if (join && (using.length > 0 || natural)) {
    // USING and NATURAL merge the common columns of everything joined so far with this item's.
    const left: QueryColumns = scope.items.every((i) => 'columns' in i.star)
      ? { columns: scope.items.flatMap((i) => ('columns' in i.star ? i.star.columns : [])) }
      : { any: union(...scope.items.map((i) => allSources(i.star))) };
    const star = joinedStar(left, own.star, using, natural);
    for (const name of commonNames(left, own.star, using, natural))
      ctx.filtered.addAll(columnOf(left, name)).addAll(columnOf(own.star, name));
    scope.items = [{ entries: [...scope.items.flatMap((i) => i.entries), entry], star }];
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
    const outside = new Scope(scope.parent);
    for (const [name, cte] of scope.ctes) outside.ctes.set(name, cte);
    const columnNames = Array.isArray(item['columns'])
      ? (item['columns'] as unknown[]).map((c) => identifier(isNode(c) ? (c['column'] ?? c) : c) ?? '')
      : [];
    return entryOf(
      alias === undefined ? undefined : lower(alias),
      renamed(queryLineage(inner, outside, ctx), columnNames),
    );
  }
  // A table function (JSON_TABLE, ...) or anything else: its columns are made from all it reads.
  return {
    alias: alias === undefined ? undefined : lower(alias),
    columns: undefined,
    any: union(expr(item, scope, ctx).sources, untraced('a FROM item of unknown shape')),
  };
}

function entryOf(alias: string | undefined, result: QueryColumns, schema?: string): RangeEntry {
  const columns = 'columns' in result ? result.columns : undefined;
  return { alias, ...(schema ? { schema } : {}), columns, any: allSources(result) };
}

function commonNames(left: QueryColumns, right: QueryColumns, using: string[], natural: boolean): string[] {
  if (!natural) return using;
  if (!('columns' in left) || !('columns' in right)) return [];
  return left.columns
    .map((c) => lower(c.name))
    .filter((name) => right.columns.some((r) => lower(r.name) === name));
}

function columnOf(result: QueryColumns, name: string): SourceSet {
  if (!('columns' in result)) return result.any;
  return union(...result.columns.filter((c) => lower(c.name) === name).map((c) => c.sources));
}

function joinedStar(
  left: QueryColumns,
  right: QueryColumns,
  using: string[],
  natural: boolean,
): QueryColumns {
  if (!('columns' in left) || !('columns' in right))
    return { any: union(allSources(left), allSources(right)) };
  const common = commonNames(left, right, using, natural);
  if (common.length === 0) return { columns: [...left.columns, ...right.columns] };
  // The merged column is the left one's (COALESCE for outer joins): made from both sides.
  const merged = common.map((name) => {
    const own = left.columns.find((c) => lower(c.name) === name);
    return { name: own?.name ?? name, sources: union(columnOf(left, name), columnOf(right, name)) };
  });
  const rest = (columns: readonly Column[]) => columns.filter((c) => !common.includes(lower(c.name)));
  return { columns: [...merged, ...rest(left.columns), ...rest(right.columns)] };
}

/** A stored relation's columns: tables as themselves, views through their definitions. */
export function relationLineage(name: string, schema: string | undefined, ctx: LineageContext): QueryColumns {
  const label = schema ? `${schema}.${name}` : name;
  if (schema === undefined) return { any: untraced(`table ${label} (no database selected)`) };
  const candidates = ctx.catalog.relations(name, schema);
  if (candidates === undefined) {
    ctx.missingRelations.set(`${lower(schema)}\u0000${lower(name)}`, { name, schema });
    return { any: untraced(`table ${label} (not read yet)`) };
  }
  // Not in the catalog the agent reads: a temporary table, one made in an open transaction, or one
  // the catalog connection may not see.
  if (candidates.length === 0) return { any: untraced(`table ${label} (not in the catalog)`) };
  const results = candidates.map((relation) => relationColumns(relation, ctx));
  const [first, ...others] = results as [QueryColumns, ...QueryColumns[]];
  if (others.length === 0) return first;
  // Names that differ only in case (lower_case_table_names=0): each column holds what any may hold.
  return { any: union(...results.map(allSources)) };
}

/** A table's columns depend on its catalog facts alone: made once per facts object. */
const tableColumns = new WeakMap<RelationFacts, QueryColumns>();

function relationColumns(relation: RelationFacts, ctx: LineageContext): QueryColumns {
  if (relation.kind === 'view') return viewColumns(relation, ctx);
  let columns = tableColumns.get(relation);
  if (!columns) {
    columns = {
      columns: relation.columns.map((column) => {
        if (column.generated)
          return { name: column.name, sources: untraced(`${relation.name}.${column.name} is generated`) };
        const plain = { schema: relation.schema, table: relation.name, column: column.name };
        return { name: column.name, plain, sources: SourceSet.of(plain) };
      }),
    };
    tableColumns.set(relation, columns);
  }
  return columns;
}

function viewColumns(relation: RelationFacts, ctx: LineageContext): QueryColumns {
  const reason = `view ${relation.schema}.${relation.name}`;
  const inner = ctx.view(relation.schema);
  const tree = relation.definition === undefined ? undefined : ctx.parse(relation.definition);
  if (!inner || !tree) return { any: untraced(`${reason} (definition not known)`) };
  const result = queryLineage(tree, undefined, inner);
  if (!('columns' in result) || result.columns.length !== relation.columns.length)
    return { any: union(allSources(result), untraced(reason)) };
  // A view's columns are its query's, renamed to the names the catalog gives them.
  return {
    columns: relation.columns.map((column, i) => ({ ...(result.columns[i] as Column), name: column.name })),
  };
}

// ---- filters -------------------------------------------------------------------------------

/** An expression rows are filtered, joined, grouped or ordered by. */
export function filter(node: unknown, scope: Scope, ctx: LineageContext): void {
  if (node === undefined || node === null) return;
  ctx.filtered.addAll(expr(node, scope, ctx).sources);
}

// ---- expressions ---------------------------------------------------------------------------

/** What an expression is made of: a plain column reference, or a value made from sources. */
export interface ExprLineage {
  readonly plain?: SourceColumn;
  readonly sources: SourceSet;
}

/**
 * Built-in functions that store an argument where the session (or another) can read it back: a
 * lock name (IS_USED_LOCK, information_schema), a sequence value, the session's LAST_INSERT_ID.
 */
const SIDE_EFFECT_FUNCTIONS = new Set(['get_lock', 'setval', 'last_insert_id']);

/** Built-ins whose value is not made from their arguments alone: a file's content, say. */
const UNTRACED_FUNCTIONS = new Set(['load_file']);

/** Keys of the tree that hold no expression. */
const SKIPPED_KEYS = new Set(['loc', 'tableList', 'columnList', 'type', 'as']);

export function expr(node: unknown, scope: Scope, ctx: LineageContext): ExprLineage {
  if (Array.isArray(node)) return { sources: union(...node.map((item) => expr(item, scope, ctx).sources)) };
  if (!isNode(node)) return { sources: new SourceSet() };
  if (isNode(node['ast'])) return { sources: allSources(queryLineage(node['ast'], scope, ctx)) };
  switch (node['type']) {
    case 'column_ref':
      return columnRef(node, scope);
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
      // User variables hold no masked value: every statement that would store one is denied.
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
  for (let level: Scope | undefined = scope; level; level = level.parent) sources.addAll(level.windows);
  return sources;
}

function functionCall(node: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const parts = functionName(node['name']);
  const name = lower(parts.at(-1) ?? '');
  const args = generic(node, scope, ctx).sources;
  if (name === 'exists' && parts.length === 1) {
    // EXISTS says only whether rows exist: what decided that is filtered on, not returned.
    ctx.filtered.addAll(args);
    return { sources: new SourceSet() };
  }
  if (SIDE_EFFECT_FUNCTIONS.has(name) && parts.length === 1) ctx.written.addAll(args);
  if (UNTRACED_FUNCTIONS.has(name) && parts.length === 1)
    return { sources: union(args, untraced(`function ${name}`)) };
  if (parts.length > 1) return userFunction(parts.join('.'), args, ctx);
  const user = ctx.catalog.userFunction(name);
  if (user === undefined) ctx.missingFunctions.add(name);
  if (user === false) return { sources: args };
  return userFunction(name, args, ctx);
}

function functionName(name: unknown): string[] {
  if (typeof name === 'string') return [name];
  if (!isNode(name)) return [];
  const parts = name['name'];
  const schema = identifier(name['schema']);
  const own = Array.isArray(parts) ? parts.map((p) => identifier(p) ?? '') : [identifier(parts) ?? ''];
  return schema ? [schema, ...own] : own;
}

/**
 * A stored function (or one the catalog cannot rule out): its body is not read, so what it returns
 * and what it does with its arguments are not known. Fail closed both ways.
 */
function userFunction(name: string, args: SourceSet, ctx: LineageContext): ExprLineage {
  ctx.written.addAll(args);
  return { sources: union(args, untraced(`function ${name}`)) };
}

function columnRef(node: Node, scope: Scope): ExprLineage {
  const column = identifier(node['column']);
  const table = identifier(node['table']);
  const db = identifier(node['db']);
  if (column === undefined) return { sources: untraced('a column reference the parser left unnamed') };
  let found: ExprLineage;
  if (column === '*') {
    const entries = table === undefined ? [] : findEntries(db, table, scope);
    found = {
      sources: entries.length > 0 ? union(...entries.map((e) => e.any)) : untraced(`${table ?? ''}.*`),
    };
  } else if (table === undefined) {
    found = unqualified(lower(column), scope);
  } else {
    const entries = findEntries(db, table, scope);
    const matches = entries.map((entry) => columnOfEntry(entry, lower(column)));
    if (matches.length === 1 && matches[0]) found = matches[0];
    else if (matches.length > 0 && matches.every((m) => m !== undefined))
      found = { sources: union(...matches.map((m) => m?.sources)) };
    else found = { sources: untraced(`column ${[db, table, column].filter(Boolean).join('.')}`) };
  }
  // COLLATE and CONVERT's USING change the value's bytes: no longer the column itself.
  const changed = (node['collate'] !== undefined && node['collate'] !== null) || node['suffix'] !== undefined;
  return changed ? { sources: found.sources } : found;
}

function columnOfEntry(entry: RangeEntry, name: string): ExprLineage | undefined {
  if (!entry.columns) return { sources: entry.any };
  const matches = entry.columns.filter((c) => lower(c.name) === name);
  if (matches.length === 1) {
    const [only] = matches as [Column];
    return only.plain ? { plain: only.plain, sources: only.sources } : { sources: only.sources };
  }
  if (matches.length > 1) return { sources: union(...matches.map((c) => c.sources)) };
  return undefined;
}

function unqualified(name: string, scope: Scope): ExprLineage {
  for (let level: Scope | undefined = scope; level; level = level.parent) {
    const known = level.entries
      .map((entry) => (entry.columns ? columnOfEntry(entry, name) : undefined))
      .filter((found): found is ExprLineage => found !== undefined);
    if (known.length === 1) return known[0] as ExprLineage;
    if (known.length > 1) return { sources: union(...known.map((k) => k.sources)) };
    // A column of something whose columns are not known by name.
    const unknownShape = level.entries.filter((entry) => !entry.columns);
    if (unknownShape.length > 0) return { sources: union(...unknownShape.map((e) => e.any)) };
    // HAVING and ORDER BY may name a result column by its alias.
    const outputs = level.outputs;
    if (outputs && 'columns' in outputs) {
      const named = outputs.columns.filter((c) => lower(c.name) === name);
      if (named.length > 0) return { sources: union(...named.map((c) => c.sources)) };
    } else if (outputs) {
      return { sources: outputs.any };
    }
  }
  return { sources: untraced(`column ${name}`) };
}

/** FROM entries a qualifier names (case-insensitively: several when names differ only in case). */
function findEntries(db: string | undefined, table: string, scope: Scope): RangeEntry[] {
  const name = lower(table);
  const schema = db === undefined ? undefined : lower(db);
  for (let level: Scope | undefined = scope; level; level = level.parent) {
    const found = level.entries.filter(
      (entry) => entry.alias === name && (schema === undefined || entry.schema === schema),
    );
    if (found.length > 0) return found;
  }
  return [];
}
