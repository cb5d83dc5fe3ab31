import { list, names, text, unwrap, type Node } from '../ast';
import { columnName } from './column-name';
import type { LineageCatalog, RelationFacts, SourceColumn } from './lineage.types';
import { SIDE_EFFECT_FUNCTIONS, TABLE_DATA_CATALOG_COLUMNS } from './known-functions';
import { SourceSet, untraced, type ExprLineage } from './source-set';

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
  /** The name that qualifies its columns: the alias, or the relation's own name. */
  readonly alias: string | undefined;
  readonly schema?: string;
  /** Known columns; undefined when the shape is unknown (then every column holds `any`). */
  readonly columns: readonly Column[] | undefined;
  readonly any: SourceSet;
}

/** What `*` over one FROM item expands to (a join USING merges its common columns). */
interface FromItem {
  readonly entries: readonly RangeEntry[];
  readonly star: QueryColumns;
}

interface CteDef {
  readonly result: QueryColumns;
}

/** Names visible at one query level, and the levels around it (correlated subqueries, LATERAL). */
export class Scope {
  readonly entries: RangeEntry[] = [];
  readonly ctes = new Map<string, CteDef>();
  /** Windows named in WINDOW, which OVER name refers to. */
  readonly windows = new Map<string, Node>();
  /** Output columns by name, for ORDER BY / GROUP BY that name a result column. */
  outputs: QueryColumns | undefined;

  constructor(readonly parent?: Scope) {}

  cte(name: string): CteDef | undefined {
    return this.ctes.get(name) ?? this.parent?.cte(name);
  }
}

/** Everything one statement's analysis accumulates. */
export class LineageContext {
  readonly written = new SourceSet();
  readonly filtered = new SourceSet();
  readonly missingRelations = new Map<string, { name: string; schema?: string }>();
  readonly missingFunctions = new Set<string>();

  constructor(
    readonly catalog: LineageCatalog,
    /** Parses a view's definition (the analyzer's cached parser). */
    readonly parse: (sql: string) => Node | undefined,
    private readonly viewDepth = 0,
  ) {}

  /** The same context one view deeper (views over views), bounded so cycles end. */
  deeper(): LineageContext | undefined {
    if (this.viewDepth >= MAX_VIEW_DEPTH) return undefined;
    return this.fresh(this.viewDepth + 1);
  }

  /** A context of its own (writes, filters) for a statement inside this one, sharing what is missing. */
  fresh(viewDepth = this.viewDepth): LineageContext {
    const inner = new LineageContext(this.catalog, this.parse, viewDepth);
    // Missing facts found inside a view are missing for the statement.
    Object.assign(inner, {
      missingRelations: this.missingRelations,
      missingFunctions: this.missingFunctions,
    });
    return inner;
  }

  get complete(): boolean {
    return this.missingRelations.size === 0 && this.missingFunctions.size === 0;
  }
}

const MAX_VIEW_DEPTH = 12;

export function union(...parts: readonly (SourceSet | ExprLineage | undefined)[]): SourceSet {
  const out = new SourceSet();
  for (const part of parts) if (part) out.addAll(part instanceof SourceSet ? part : part.sources);
  return out;
}

export function allSources(result: QueryColumns): SourceSet {
  if (!('columns' in result)) return result.any;
  return union(...result.columns.map((c) => c.sources));
}

// ---- queries -------------------------------------------------------------------------------

/** Lineage of any statement that yields rows: SELECT (VALUES, set operations), or DML with RETURNING. */
export function queryLineage(node: unknown, parent: Scope | undefined, ctx: LineageContext): QueryColumns {
  const unwrapped = unwrap(node);
  if (!unwrapped) return { any: untraced('query') };
  const [kind, body] = unwrapped;
  switch (kind) {
    case 'SelectStmt':
      return selectLineage(body, parent, ctx);
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      return modifyLineage(kind, body, parent, ctx) ?? { columns: [] };
    default:
      return { any: untraced(`${kind} as a query`) };
  }
}

export function selectLineage(body: Node, parent: Scope | undefined, ctx: LineageContext): QueryColumns {
  const scope = new Scope(parent);
  withClause(body['withClause'], scope, ctx);
  let result: QueryColumns;
  const op = text(body['op'], 'SETOP_NONE');
  if (op !== 'SETOP_NONE') {
    const left = selectLineage(body['larg'] as Node, scope, ctx);
    const right = selectLineage(body['rarg'] as Node, scope, ctx);
    result = setOperation(left, right);
  } else if (body['valuesLists'] !== undefined) {
    result = valuesLineage(list(body['valuesLists']), scope, ctx);
  } else {
    for (const item of list(body['fromClause'])) fromItem(item, scope, ctx);
    for (const window of list(body['windowClause'])) {
      const def = window['WindowDef'] as Node | undefined;
      if (def) scope.windows.set(text(def['name']), def);
    }
    result = targetList(list(body['targetList']), scope, ctx);
    for (const key of ['whereClause', 'havingClause'] as const) filter(body[key], scope, ctx);
    for (const window of list(body['windowClause'])) filter(window, scope, ctx);
  }
  scope.outputs = result;
  // DISTINCT ON (2) names a result column by position, as ORDER BY 2 does.
  for (const distinct of list(body['distinctClause'])) filter(distinct, scope, ctx, true);
  for (const item of list(body['groupClause'])) filter(item, scope, ctx, true);
  for (const item of list(body['sortClause'])) filter(item, scope, ctx, true);
  for (const key of ['limitCount', 'limitOffset'] as const) filter(body[key], scope, ctx);
  // SELECT ... INTO stores the result in a new table.
  if (body['intoClause'] !== undefined) ctx.written.addAll(allSources(result));
  return result;
}

function setOperation(left: QueryColumns, right: QueryColumns): QueryColumns {
  if (!('columns' in left) || !('columns' in right) || left.columns.length !== right.columns.length)
    return { any: union(allSources(left), allSources(right)) };
  const rightColumns = right.columns;
  return {
    columns: left.columns.map((column, i) => ({
      name: column.name,
      sources: union(column.sources, rightColumns[i]?.sources),
    })),
  };
}

function valuesLineage(rows: readonly Node[], scope: Scope, ctx: LineageContext): QueryColumns {
  const columns: SourceSet[] = [];
  for (const row of rows) {
    list((row['List'] as Node | undefined)?.['items']).forEach((item, i) => {
      columns[i] = union(columns[i], expr(item, scope, ctx));
    });
  }
  return { columns: columns.map((sources, i) => ({ name: `column${i + 1}`, sources })) };
}

function withClause(clause: unknown, scope: Scope, ctx: LineageContext): void {
  const withBody = clause as Node | undefined;
  if (!withBody) return;
  const recursive = withBody['recursive'] === true;
  for (const item of list(withBody['ctes'])) {
    const cte = item['CommonTableExpr'] as Node;
    const name = text(cte['ctename']);
    const aliases = names(cte['aliascolnames']);
    const query = cte['ctequery'];
    if (recursive) {
      // A recursive CTE reads itself: start from nothing known, widen until each column's sources
      // settle (a value can move one column per round).
      scope.ctes.set(name, { result: { any: new SourceSet() } });
      let result: QueryColumns = { columns: [] };
      let settled = false;
      for (let round = 0; round < MAX_RECURSION_ROUNDS && !settled; round++) {
        const next = derivedOnly(renamed(queryLineage(query, scope, ctx), aliases));
        settled = round > 0 && signature(next) === signature(result);
        result = next;
        scope.ctes.set(name, { result });
      }
      // Still widening after the last round: any column may hold whatever it reads.
      if (!settled) scope.ctes.set(name, { result: { any: allSources(result) } });
    } else {
      scope.ctes.set(name, { result: renamed(queryLineage(query, scope, ctx), aliases) });
    }
  }
}

const MAX_RECURSION_ROUNDS = 16;

/** How many sources each column has: sources only grow, so an unchanged signature means settled. */
function signature(result: QueryColumns): string {
  return 'columns' in result ? result.columns.map((c) => c.sources.size).join(',') : `any ${result.any.size}`;
}

/** A column that went through a set operation or recursion is no longer a plain reference. */
function derivedOnly(result: QueryColumns): QueryColumns {
  if (!('columns' in result)) return result;
  return { columns: result.columns.map((c) => ({ name: c.name, sources: c.sources })) };
}

function renamed(result: QueryColumns, aliases: readonly string[]): QueryColumns {
  if (aliases.length === 0 || !('columns' in result)) return result;
  return { columns: result.columns.map((c, i) => ({ ...c, name: aliases[i] ?? c.name })) };
}

function targetList(targets: readonly Node[], scope: Scope, ctx: LineageContext): QueryColumns {
  const columns: Column[] = [];
  let unknownShape: SourceSet | undefined;
  for (const target of targets) {
    const res = target['ResTarget'] as Node;
    const value = res['val'];
    const star = starOf(value);
    if (star) {
      const expanded = expandStar(star, scope, ctx);
      if ('columns' in expanded) columns.push(...expanded.columns);
      else unknownShape = union(unknownShape, expanded.any);
      continue;
    }
    const lineage = expr(value, scope, ctx);
    const name = text(res['name']) || columnName(value);
    columns.push({ name, ...(lineage.plain ? { plain: lineage.plain } : {}), sources: lineage.sources });
  }
  if (unknownShape) return { any: union(unknownShape, ...columns.map((c) => c.sources)) };
  return { columns };
}

/** `*`, `alias.*` or `(expr).*` in a target list: the qualifier's fields, or undefined. */
function starOf(value: unknown): { qualifier?: string[]; expr?: unknown } | undefined {
  const ref = (value as Node | undefined)?.['ColumnRef'] as Node | undefined;
  if (ref) {
    const fields = list(ref['fields']);
    if (fields.at(-1)?.['A_Star'] === undefined) return undefined;
    return { qualifier: names(fields.slice(0, -1)) };
  }
  const indirection = (value as Node | undefined)?.['A_Indirection'] as Node | undefined;
  if (indirection && list(indirection['indirection']).at(-1)?.['A_Star'] !== undefined)
    return { expr: indirection['arg'] };
  return undefined;
}

function expandStar(
  star: { qualifier?: string[]; expr?: unknown },
  scope: Scope,
  ctx: LineageContext,
): QueryColumns {
  if (star.expr !== undefined) return { any: expr(star.expr, scope, ctx).sources };
  const qualifier = star.qualifier ?? [];
  if (qualifier.length === 0) {
    const items = fromItems.get(scope) ?? [];
    const columns: Column[] = [];
    for (const item of items) {
      if (!('columns' in item.star)) return { any: union(...items.map((i) => allSources(i.star))) };
      columns.push(...item.star.columns);
    }
    return { columns };
  }
  const entry = findEntry(qualifier, scope);
  if (!entry) return { any: untraced(`${qualifier.join('.')}.*`) };
  return entry.columns ? { columns: entry.columns } : { any: entry.any };
}

// ---- FROM ----------------------------------------------------------------------------------

/** The FROM items of each scope, in order, for `*`. */
const fromItems = new WeakMap<Scope, FromItem[]>();

function fromItem(node: Node, scope: Scope, ctx: LineageContext): void {
  const item = rangeItem(node, scope, ctx);
  scope.entries.push(...item.entries);
  const items = fromItems.get(scope) ?? [];
  items.push(item);
  fromItems.set(scope, items);
}

function rangeItem(node: Node, scope: Scope, ctx: LineageContext): FromItem {
  const [kind, body] = unwrap(node) ?? ['?', {}];
  switch (kind) {
    case 'RangeVar':
      return single(rangeVar(body, scope, ctx));
    case 'RangeSubselect': {
      // A LATERAL subquery sees the FROM items before it; any subquery sees the levels outside.
      const outer = body['lateral'] === true ? scope : outsideOf(scope);
      const result = queryLineage(body['subquery'], outer, ctx);
      return single(entryOf(aliasName(body), renamed(result, aliasColumns(body))));
    }
    case 'RangeFunction':
      return single(rangeFunction(body, scope, ctx));
    case 'RangeTableSample':
      return rangeItem(body['relation'] as Node, scope, ctx);
    case 'JoinExpr':
      return joinItem(body, scope, ctx);
    default: {
      // XMLTABLE, JSON_TABLE: columns made from their document expressions.
      const sources = expr(body, scope, ctx).sources;
      const alias = aliasName(body);
      return single({ alias, columns: undefined, any: sources });
    }
  }
}

function single(entry: RangeEntry): FromItem {
  return { entries: [entry], star: entry.columns ? { columns: entry.columns } : { any: entry.any } };
}

/** What a subquery in FROM that is not LATERAL sees: the levels outside and this level's CTEs. */
function outsideOf(scope: Scope): Scope {
  const outside = new Scope(scope.parent);
  for (const [name, cte] of scope.ctes) outside.ctes.set(name, cte);
  return outside;
}

function aliasName(body: Node): string | undefined {
  const alias = body['alias'] as Node | undefined;
  return alias ? text(alias['aliasname']) : undefined;
}

function aliasColumns(body: Node): string[] {
  return names((body['alias'] as Node | undefined)?.['colnames']);
}

function entryOf(alias: string | undefined, result: QueryColumns, schema?: string): RangeEntry {
  if ('columns' in result)
    return { alias, ...(schema ? { schema } : {}), columns: result.columns, any: allSources(result) };
  return { alias, ...(schema ? { schema } : {}), columns: undefined, any: result.any };
}

function rangeVar(body: Node, scope: Scope, ctx: LineageContext): RangeEntry {
  const name = text(body['relname']);
  const schema = body['schemaname'] === undefined ? undefined : text(body['schemaname']);
  const alias = aliasName(body) ?? name;
  const aliases = aliasColumns(body);
  const cte = schema === undefined ? scope.cte(name) : undefined;
  if (cte) return entryOf(alias, renamed(cte.result, aliases));
  const relation = relationLineage(name, schema, ctx);
  // An alias hides the relation's own name (and schema) from column references.
  return entryOf(alias, renamed(relation, aliases), aliasName(body) ? undefined : schema);
}

/** A stored relation's columns: tables as themselves, views through their definitions. */
export function relationLineage(name: string, schema: string | undefined, ctx: LineageContext): QueryColumns {
  const candidates = ctx.catalog.relations(name, schema);
  const label = schema ? `${schema}.${name}` : name;
  if (candidates === undefined) {
    ctx.missingRelations.set(`${schema ?? ''}.${name}`, { name, ...(schema ? { schema } : {}) });
    return { any: untraced(`relation ${label} (not read yet)`) };
  }
  // Not in the catalog the agent reads: a temporary table or one made in an open transaction.
  if (candidates.length === 0) return { any: untraced(`relation ${label} (not in the catalog)`) };
  const results = candidates.map((relation) => relationColumns(relation, ctx));
  const [first, ...others] = results as [QueryColumns, ...QueryColumns[]];
  if (others.length === 0) return first;
  // The same name in several schemas: which one the session's search_path picks is not known here,
  // so each column holds what the same column of every candidate holds.
  const shape = (r: QueryColumns) =>
    'columns' in r ? r.columns.map((c) => c.name).join('\u0000') : undefined;
  if (!('columns' in first) || results.some((r) => shape(r) === undefined || shape(r) !== shape(first)))
    return { any: union(...results.map(allSources)) };
  return {
    columns: first.columns.map((column, i) => ({
      name: column.name,
      sources: union(...results.map((r) => ('columns' in r ? r.columns[i]?.sources : undefined))),
    })),
  };
}

/** A table's columns depend on its catalog facts alone: made once per facts object. */
const tableColumns = new WeakMap<RelationFacts, QueryColumns>();

function relationColumns(relation: RelationFacts, ctx: LineageContext): QueryColumns {
  if (relation.kind === 'view') return viewColumns(relation, ctx);
  let columns = tableColumns.get(relation);
  if (!columns) tableColumns.set(relation, (columns = storedColumns(relation)));
  return columns;
}

function storedColumns(relation: RelationFacts): QueryColumns {
  const dataColumns = TABLE_DATA_CATALOG_COLUMNS.get(`${relation.schema}.${relation.name}`);
  return {
    columns: relation.columns.map((column) => {
      if (column.generated || dataColumns?.(column.name))
        return { name: column.name, sources: untraced(`${relation.name}.${column.name} is computed`) };
      const plain = { schema: relation.schema, table: relation.name, column: column.name };
      const sources = SourceSet.of(plain);
      for (const other of relation.related ?? [])
        sources.add({ schema: other.schema, table: other.name, column: column.name, related: true });
      return { name: column.name, plain, sources };
    }),
  };
}

function viewColumns(relation: RelationFacts, ctx: LineageContext): QueryColumns {
  const reason = `view ${relation.schema}.${relation.name}`;
  const inner = ctx.deeper();
  const tree = relation.definition === undefined ? undefined : ctx.parse(relation.definition);
  if (!inner || !tree) return { any: untraced(`${reason} (definition not resolved)`) };
  const result = queryLineage(tree, undefined, inner);
  if (!('columns' in result) || result.columns.length < relation.columns.length)
    return { any: union(allSources(result), untraced(reason)) };
  // A view's columns are its query's, renamed to the names the catalog gives them.
  return {
    columns: relation.columns.map((column, i) => ({
      ...(result.columns[i] as Column),
      name: column.name,
    })),
  };
}

function rangeFunction(body: Node, scope: Scope, ctx: LineageContext): RangeEntry {
  // Functions in FROM are implicitly LATERAL; their results are made from their arguments.
  const sources = new SourceSet();
  for (const item of list(body['functions'])) {
    const [call] = list((item['List'] as Node | undefined)?.['items']);
    sources.addAll(expr(call, scope, ctx).sources);
  }
  const alias = aliasName(body);
  const columnNames = aliasColumns(body);
  const definitions = list(body['coldeflist']).map((def) => text((def['ColumnDef'] as Node)['colname']));
  const known = columnNames.length > 0 ? columnNames : definitions;
  if (known.length === 0 || body['ordinality'] === true) return { alias, columns: undefined, any: sources };
  return { alias, columns: known.map((name) => ({ name, sources })), any: sources };
}

function joinItem(body: Node, scope: Scope, ctx: LineageContext): FromItem {
  const left = rangeItem(body['larg'] as Node, scope, ctx);
  // The right side of a join may be LATERAL and see the left side.
  const inner = new Scope(scope.parent);
  inner.entries.push(...scope.entries, ...left.entries);
  for (const [name, cte] of scope.ctes) inner.ctes.set(name, cte);
  fromItems.set(inner, [...(fromItems.get(scope) ?? []), left]);
  const right = rangeItem(body['rarg'] as Node, inner, ctx);
  const joined = new Scope(scope.parent);
  joined.entries.push(...scope.entries, ...left.entries, ...right.entries);
  for (const [name, cte] of scope.ctes) joined.ctes.set(name, cte);
  filter(body['quals'], joined, ctx);

  const using = names(body['usingClause']);
  const star = joinedStar(left.star, right.star, using, body['isNatural'] === true);
  const entries = [...left.entries, ...right.entries];
  // Join USING columns are compared: they are filtered on.
  for (const name of using) ctx.filtered.addAll(columnOf(left.star, name)).addAll(columnOf(right.star, name));
  const alias = aliasName(body);
  if (alias) entries.push(entryOf(alias, renamed(star, aliasColumns(body))));
  return { entries, star };
}

function columnOf(result: QueryColumns, name: string): SourceSet {
  if (!('columns' in result)) return result.any;
  return union(...result.columns.filter((c) => c.name === name).map((c) => c.sources));
}

function joinedStar(
  left: QueryColumns,
  right: QueryColumns,
  using: string[],
  natural: boolean,
): QueryColumns {
  if (!('columns' in left) || !('columns' in right))
    return { any: union(allSources(left), allSources(right)) };
  const common = natural
    ? left.columns.map((c) => c.name).filter((name) => right.columns.some((r) => r.name === name))
    : using;
  if (common.length === 0) return { columns: [...left.columns, ...right.columns] };
  const merged = common.map((name) => ({
    name,
    sources: union(columnOf(left, name), columnOf(right, name)),
  }));
  const rest = (columns: readonly Column[]) => columns.filter((c) => !common.includes(c.name));
  return { columns: [...merged, ...rest(left.columns), ...rest(right.columns)] };
}

// ---- DML -----------------------------------------------------------------------------------

/** INSERT, UPDATE, DELETE, MERGE: what they write, what they filter on, and their RETURNING rows. */
export function modifyLineage(
  kind: string,
  body: Node,
  parent: Scope | undefined,
  ctx: LineageContext,
): QueryColumns | undefined {
  const scope = new Scope(parent);
  withClause(body['withClause'], scope, ctx);
  const relation = body['relation'] as Node;
  const target = rangeVar(relation, scope, ctx);
  scope.entries.push(target);
  fromItems.set(scope, [single(target)]);
  switch (kind) {
    case 'InsertStmt': {
      const source = body['selectStmt'];
      if (source !== undefined) ctx.written.addAll(allSources(queryLineage(source, outsideOf(scope), ctx)));
      const conflict = body['onConflictClause'] as Node | undefined;
      if (conflict) {
        // EXCLUDED holds the proposed rows: whatever the source wrote.
        const excluded: RangeEntry = {
          alias: 'excluded',
          columns: undefined,
          any: new SourceSet().addAll(ctx.written),
        };
        scope.entries.push(excluded);
        writes(list(conflict['targetList']), scope, ctx);
        filter(conflict['whereClause'], scope, ctx);
      }
      break;
    }
    case 'UpdateStmt':
      for (const item of list(body['fromClause'])) fromItem(item, scope, ctx);
      writes(list(body['targetList']), scope, ctx);
      filter(body['whereClause'], scope, ctx);
      break;
    case 'DeleteStmt':
      for (const item of list(body['usingClause'])) fromItem(item, scope, ctx);
      filter(body['whereClause'], scope, ctx);
      break;
    case 'MergeStmt': {
      fromItem(body['sourceRelation'] as Node, scope, ctx);
      filter(body['joinCondition'], scope, ctx);
      for (const clause of list(body['mergeWhenClauses'])) {
        const when = clause['MergeWhenClause'] as Node;
        filter(when['condition'], scope, ctx);
        writes(list(when['targetList']), scope, ctx);
        for (const value of list(when['values'])) ctx.written.addAll(expr(value, scope, ctx).sources);
      }
      break;
    }
  }
  const returning = list(body['returningList']);
  if (returning.length === 0) return undefined;
  return targetList(returning, scope, ctx);
}

function writes(targets: readonly Node[], scope: Scope, ctx: LineageContext): void {
  for (const target of targets) {
    const res = target['ResTarget'] as Node;
    ctx.written.addAll(expr(res['val'], scope, ctx).sources);
  }
}

/** An expression rows are filtered, joined, grouped or ordered by. */
function filter(node: unknown, scope: Scope, ctx: LineageContext, mayNameOutput = false): void {
  if (node === undefined) return;
  if (mayNameOutput) {
    const byOutput = outputNamed(node, scope);
    if (byOutput) {
      ctx.filtered.addAll(byOutput);
      return;
    }
  }
  ctx.filtered.addAll(expr(node, scope, ctx).sources);
}

/** ORDER BY / GROUP BY naming a result column by name or position. */
function outputNamed(node: unknown, scope: Scope): SourceSet | undefined {
  const outputs = scope.outputs;
  if (!outputs) return undefined;
  const inner = ((node as Node)['SortBy'] as Node | undefined)?.['node'] ?? node;
  const position = (((inner as Node)['A_Const'] as Node | undefined)?.['ival'] as Node | undefined)?.['ival'];
  if (typeof position === 'number') {
    if (!('columns' in outputs)) return outputs.any;
    return outputs.columns[position - 1]?.sources;
  }
  const ref = (inner as Node)['ColumnRef'] as Node | undefined;
  const fields = names(ref?.['fields']);
  if (fields.length !== 1 || !('columns' in outputs)) return undefined;
  // A FROM column of that name wins over a result column in GROUP BY; either way both are read.
  const named = outputs.columns.filter((c) => c.name === fields[0]);
  if (named.length === 0 || scope.entries.some((e) => e.columns?.some((c) => c.name === fields[0])))
    return undefined;
  return union(...named.map((c) => c.sources));
}

// ---- expressions ---------------------------------------------------------------------------

/** What an expression's value is made from. */
export function expr(node: unknown, scope: Scope, ctx: LineageContext): ExprLineage {
  if (Array.isArray(node)) return { sources: union(...node.map((item) => expr(item, scope, ctx))) };
  if (typeof node !== 'object' || node === null) return { sources: new SourceSet() };
  const unwrapped = unwrap(node);
  if (!unwrapped) return generic(node as Node, scope, ctx);
  const [kind, body] = unwrapped;
  switch (kind) {
    case 'ColumnRef':
      return columnRef(body, scope);
    case 'SubLink':
      return subLink(body, scope, ctx);
    case 'FuncCall':
      return funcCall(body, scope, ctx);
    case 'A_Const':
    case 'ParamRef':
    case 'SQLValueFunction':
    case 'TypeName':
      return { sources: new SourceSet() };
    case 'SelectStmt':
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
      return { sources: allSources(queryLineage(node, scope, ctx)) };
    default:
      return generic(body, scope, ctx);
  }
}

/** Any other expression (operators, casts, CASE, ROW, ARRAY, ...): made from everything in it. */
function generic(body: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const sources = new SourceSet();
  for (const key in body) {
    if (key === 'typeName' || key === 'location') continue;
    const value = body[key];
    if (typeof value === 'object' && value !== null) sources.addAll(expr(value, scope, ctx).sources);
  }
  return { sources };
}

function columnRef(body: Node, scope: Scope): ExprLineage {
  const fields = list(body['fields']);
  const parts = names(fields);
  if (fields.at(-1)?.['A_Star'] !== undefined) {
    // `t.*` inside an expression (row_to_json(t.*)): the whole row.
    const entry = findEntry(parts.slice(0, -1), scope);
    return { sources: entry ? entry.any : untraced(`${parts.join('.')}`) };
  }
  if (parts.length === 1) return unqualified(parts[0] as string, scope);
  const column = parts.at(-1) as string;
  const entry = findEntry(parts.slice(0, -1), scope);
  if (!entry) {
    // `composite_column.field` cannot be written without parentheses; anything else is not known.
    return { sources: untraced(`column ${parts.join('.')}`) };
  }
  return columnOfEntry(entry, column) ?? { sources: untraced(`column ${parts.join('.')}`) };
}

function columnOfEntry(entry: RangeEntry, name: string): ExprLineage | undefined {
  if (!entry.columns) return { sources: entry.any };
  const matches = entry.columns.filter((c) => c.name === name);
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
    if (known.length > 1) return { sources: union(...known) };
    // A column of something whose columns are not known by name, or a whole row named by its alias.
    const unknownShape = level.entries.filter((entry) => !entry.columns);
    const wholeRow = level.entries.filter((entry) => entry.alias === name);
    if (unknownShape.length > 0 || wholeRow.length > 0)
      return { sources: union(...unknownShape.map((e) => e.any), ...wholeRow.map((e) => e.any)) };
  }
  return { sources: untraced(`column ${name}`) };
}

function findEntry(qualifier: readonly string[], scope: Scope): RangeEntry | undefined {
  const table = qualifier.at(-1);
  const schema = qualifier.length >= 2 ? qualifier.at(-2) : undefined;
  for (let level: Scope | undefined = scope; level; level = level.parent) {
    const found = level.entries.find(
      (entry) => entry.alias === table && (schema === undefined || entry.schema === schema),
    );
    if (found) return found;
  }
  return undefined;
}

function subLink(body: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const kind = text(body['subLinkType']);
  const result = queryLineage(body['subselect'], scope, ctx);
  const test = expr(body['testexpr'], scope, ctx).sources;
  // EXISTS says only whether rows exist: what decided that is filtered on, not returned.
  if (kind === 'EXISTS_SUBLINK') {
    ctx.filtered.addAll(allSources(result));
    return { sources: new SourceSet() };
  }
  return { sources: union(test, allSources(result)) };
}

function funcCall(body: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const parts = names(body['funcname']);
  const name = (parts.at(-1) ?? '').toLowerCase();
  const args = generic(body, scope, ctx).sources;
  // OVER w: the named window's partitioning and ordering decide the value too.
  const over = body['over'] as Node | undefined;
  for (const ref of [over?.['name'], over?.['refname']]) {
    const window = typeof ref === 'string' ? findWindow(ref, scope) : undefined;
    if (window) args.addAll(generic(window, scope, ctx).sources);
  }
  if (SIDE_EFFECT_FUNCTIONS.has(name)) ctx.written.addAll(args);
  const schema = parts.length > 1 ? parts.at(-2) : undefined;
  if (schema === 'pg_catalog') return { sources: args };
  if (schema !== undefined) return userFunction(parts.join('.'), args, ctx);
  const user = ctx.catalog.userFunction(name);
  if (user === undefined) ctx.missingFunctions.add(name);
  if (user === false) return { sources: args };
  return userFunction(name, args, ctx);
}

function findWindow(name: string, scope: Scope): Node | undefined {
  for (let level: Scope | undefined = scope; level; level = level.parent) {
    const found = level.windows.get(name);
    if (found) return found;
  }
  return undefined;
}

/**
 * A function defined on the server outside pg_catalog: its body is not read, so what it returns and
 * what it does with its arguments are not known. Fail closed both ways.
 */
function userFunction(name: string, args: SourceSet, ctx: LineageContext): ExprLineage {
  ctx.written.addAll(args);
  return { sources: union(args, untraced(`function ${name}`)) };
}
