import {
  addFromItem,
  allSources,
  callLineage,
  entryOf,
  expandStar as expandStarOf,
  joinedStar,
  LineageContext as CoreContext,
  outputAt,
  qualifiedColumn,
  recursiveWithQueries,
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
import { list, names, text, unwrap, type Node } from '../ast';
import { parseStatements } from '../parse-tree';
import { columnName } from './column-name';
import type { LineageCatalog } from './lineage.types';
import {
  PARTLY_UNTRACED_FUNCTIONS,
  SET_RETURNING_FUNCTIONS,
  SIDE_EFFECT_FUNCTIONS,
  TABLE_DATA_CATALOG_COLUMNS,
  TIMING_FUNCTIONS,
  UNTRACED_FUNCTIONS,
} from './known-functions';

/**
 * PostgreSQL's parse tree (libpg-query) mapped onto the shared lineage core of @tollgate/masking:
 * which node is a column reference, a `*`, a FROM item, a CTE, a set operation, a function call.
 * How lineage propagates and what fails closed is the core's, shared with the MySQL engine.
 */

export { allSources, type QueryColumns };

/** Names visible at one query level; windows named in WINDOW are kept as their definitions. */
export type Scope = CoreScope<Node>;
export type LineageContext = CoreContext<Node>;

export const Scope = CoreScope as new (parent?: Scope) => Scope;

/** How PostgreSQL's names, catalog and built-ins behave, for the core. */
export const POSTGRES_DIALECT: LineageDialect<Node> = {
  // The parser folds unquoted identifiers; quoted ones are exact.
  fold: (name) => name,
  searchPath: true,
  partialColumnAliases: true,
  wholeRowReferences: true,
  outputAliasReferences: false,
  builtinSchema: 'pg_catalog',
  sideEffectFunctions: SIDE_EFFECT_FUNCTIONS,
  untracedFunctions: UNTRACED_FUNCTIONS,
  timingFunctions: TIMING_FUNCTIONS,
  untracedColumn: (relation, column) =>
    TABLE_DATA_CATALOG_COLUMNS.get(`${relation.schema}.${relation.name}`)?.(column) ?? false,
  parse: (sql) => {
    const parsed = parseStatements(sql);
    return typeof parsed === 'string' || parsed.length !== 1 ? undefined : parsed[0];
  },
  query: (tree, ctx) => queryLineage(tree, undefined, ctx),
};

/** A statement's analysis context over `catalog`. */
export function lineageContext(catalog: LineageCatalog): LineageContext {
  return new CoreContext(catalog, POSTGRES_DIALECT);
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
    const rows = list(body['valuesLists']).map((row) => list((row['List'] as Node | undefined)?.['items']));
    result = valuesColumns(
      rows,
      (item) => expr(item, scope, ctx).sources,
      (i) => `column${i + 1}`,
    );
  } else {
    for (const item of list(body['fromClause'])) addFromItem(scope, rangeItem(item, scope, ctx));
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

function withClause(clause: unknown, scope: Scope, ctx: LineageContext): void {
  const withBody = clause as Node | undefined;
  if (!withBody) return;
  const items = list(withBody['ctes']).map((item) => {
    const cte = item['CommonTableExpr'] as Node;
    const aliases = names(cte['aliascolnames']);
    return {
      name: text(cte['ctename']),
      evaluate: () => renamed(queryLineage(cte['ctequery'], scope, ctx), aliases, ctx),
    };
  });
  // WITH RECURSIVE lets an item read any other, one listed later too (a relation of that name is
  // then not read): they are traced together. Without it, an item sees those before it.
  if (withBody['recursive'] === true) recursiveWithQueries(scope, items);
  else for (const { name, evaluate } of items) withQuery(scope, name, false, evaluate);
}

function targetList(targets: readonly Node[], scope: Scope, ctx: LineageContext): QueryColumns {
  const columns = new TargetColumns();
  for (const target of targets) {
    const res = target['ResTarget'] as Node;
    const value = res['val'];
    const star = starOf(value);
    if (star) columns.addAll(expandStar(star, scope, ctx));
    else columns.add(text(res['name']) || columnName(value), expr(value, scope, ctx));
  }
  return columns.result();
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
  return expandStarOf(scope, ctx, qualifierOf(star.qualifier ?? []));
}

/** `t` or `s.t` (a catalog-qualified `d.s.t` names the schema's table too); none for `[]`. */
function qualifierOf(parts: readonly string[]): { schema?: string; table: string } | undefined {
  const table = parts.at(-1);
  if (table === undefined) return undefined;
  const schema = parts.length >= 2 ? parts.at(-2) : undefined;
  return schema === undefined ? { table } : { schema, table };
}

// ---- FROM ----------------------------------------------------------------------------------

function rangeItem(node: Node, scope: Scope, ctx: LineageContext): FromItem {
  const [kind, body] = unwrap(node) ?? ['?', {}];
  switch (kind) {
    case 'RangeVar':
      return single(rangeVar(body, scope, ctx));
    case 'RangeSubselect': {
      // A LATERAL subquery sees the FROM items before it; any subquery sees the levels outside.
      const outer = body['lateral'] === true ? scope : scope.outside();
      const result = queryLineage(body['subquery'], outer, ctx);
      return single(entryOf(aliasName(body), renamed(result, aliasColumns(body), ctx)));
    }
    case 'RangeFunction':
      return single(rangeFunction(body, scope, ctx));
    case 'RangeTableSample':
      return rangeItem(body['relation'] as Node, scope, ctx);
    case 'JoinExpr':
      return joinItem(body, scope, ctx);
    default: {
      // XMLTABLE, JSON_TABLE: columns made from their document expressions, which also decide
      // how many rows there are.
      const sources = expr(body, scope, ctx).sources;
      ctx.filtered.addAll(sources);
      return single({ alias: aliasName(body), columns: undefined, any: sources });
    }
  }
}

function aliasName(body: Node): string | undefined {
  const alias = body['alias'] as Node | undefined;
  return alias ? text(alias['aliasname']) : undefined;
}

function aliasColumns(body: Node): string[] {
  return names((body['alias'] as Node | undefined)?.['colnames']);
}

function rangeVar(body: Node, scope: Scope, ctx: LineageContext): RangeEntry {
  const name = text(body['relname']);
  const schema = body['schemaname'] === undefined ? undefined : text(body['schemaname']);
  const alias = aliasName(body) ?? name;
  const aliases = aliasColumns(body);
  const cte = schema === undefined ? scope.cte(name) : undefined;
  if (cte) return entryOf(alias, renamed(cte, aliases, ctx));
  const relation = relationLineage(name, schema, ctx);
  // An alias hides the relation's own name (and schema) from column references.
  return entryOf(alias, renamed(relation, aliases, ctx), aliasName(body) ? undefined : schema);
}

/** A stored relation's columns: tables as themselves, views through their definitions. */
export function relationLineage(name: string, schema: string | undefined, ctx: LineageContext): QueryColumns {
  return coreRelationLineage(name, schema, ctx);
}

function rangeFunction(body: Node, scope: Scope, ctx: LineageContext): RangeEntry {
  // Functions in FROM are implicitly LATERAL; their results are made from their arguments.
  const sources = new SourceSet();
  for (const item of list(body['functions'])) {
    const [call] = list((item['List'] as Node | undefined)?.['items']);
    sources.addAll(expr(call, scope, ctx).sources);
  }
  // How many rows a function in FROM yields (none, one, many) is decided by its arguments.
  for (const item of list(body['functions'])) {
    const [call] = list((item['List'] as Node | undefined)?.['items']);
    const callBody = call?.['FuncCall'] as Node | undefined;
    ctx.filtered.addAll(callBody ? generic(callBody, scope, ctx).sources : expr(call, scope, ctx).sources);
  }
  const alias = aliasName(body);
  const columnNames = aliasColumns(body);
  const definitions = list(body['coldeflist']).map((def) => text((def['ColumnDef'] as Node)['colname']));
  const known = columnNames.length > 0 ? columnNames : definitions;
  if (known.length === 0 || body['ordinality'] === true) return { alias, columns: undefined, any: sources };
  const partly = partlyUntraced(list(body['functions']), scope, ctx);
  return {
    alias,
    columns: known.map((name) => ({
      name,
      sources: partly && !partly.untraced.has(name) ? partly.clear : sources,
    })),
    any: sources,
  };
}

/**
 * The one built-in of a FROM function item when only some of its columns are untraced: those
 * columns, and what the others are made of (its arguments). Undefined for anything else, or when the
 * name may be a user function's.
 */
function partlyUntraced(
  functions: readonly Node[],
  scope: Scope,
  ctx: LineageContext,
): { untraced: ReadonlySet<string>; clear: SourceSet } | undefined {
  if (functions.length !== 1) return undefined;
  const [call] = list((functions[0]?.['List'] as Node | undefined)?.['items']);
  const body = call?.['FuncCall'] as Node | undefined;
  if (!body || body['over'] !== undefined) return undefined;
  const written = names(body['funcname']);
  const parts = written.map((part) => part.toLowerCase());
  const name = parts.at(-1) ?? '';
  const untracedColumns = PARTLY_UNTRACED_FUNCTIONS.get(name);
  if (!untracedColumns) return undefined;
  // The catalog knows the name as written (a quoted "Pg_Stat_Get_Activity" is not the built-in).
  const stored = written.at(-1) ?? '';
  const user = parts.length === 1 ? ctx.catalog.userFunction(stored) : false;
  if (user === undefined) ctx.missingFunctions.add(stored);
  const builtin = parts.length === 1 ? user === false : parts[0] === 'pg_catalog';
  if (!builtin || parts.length > 2) return undefined;
  return { untraced: untracedColumns, clear: generic(body, scope, ctx).sources };
}

function joinItem(body: Node, scope: Scope, ctx: LineageContext): FromItem {
  const left = rangeItem(body['larg'] as Node, scope, ctx);
  // The right side of a join may be LATERAL and see the left side.
  const inner = scope.outside();
  inner.entries.push(...scope.entries, ...left.entries);
  inner.items = [...scope.items, left];
  const right = rangeItem(body['rarg'] as Node, inner, ctx);
  const joined = scope.outside();
  joined.entries.push(...scope.entries, ...left.entries, ...right.entries);
  filter(body['quals'], joined, ctx);
  const using = names(body['usingClause']);
  const star = joinedStar(left.star, right.star, using, body['isNatural'] === true, ctx);
  const entries = [...left.entries, ...right.entries];
  const alias = aliasName(body);
  if (alias) entries.push(entryOf(alias, renamed(star, aliasColumns(body), ctx)));
  return { entries, star };
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
  addFromItem(scope, single(rangeVar(relation, scope, ctx)));
  switch (kind) {
    case 'InsertStmt': {
      const source = body['selectStmt'];
      if (source !== undefined) ctx.written.addAll(allSources(queryLineage(source, scope.outside(), ctx)));
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
      for (const item of list(body['fromClause'])) addFromItem(scope, rangeItem(item, scope, ctx));
      writes(list(body['targetList']), scope, ctx);
      filter(body['whereClause'], scope, ctx);
      break;
    case 'DeleteStmt':
      for (const item of list(body['usingClause'])) addFromItem(scope, rangeItem(item, scope, ctx));
      filter(body['whereClause'], scope, ctx);
      break;
    case 'MergeStmt': {
      addFromItem(scope, rangeItem(body['sourceRelation'] as Node, scope, ctx));
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

/**
 * Expressions a definition evaluates over a stored relation's rows (a partial or expression
 * index's, a row security policy's, extended statistics'): which rows they select shows later (an
 * index's row count, the rows a policy lets through, the statistics' frequencies), as a WHERE's
 * would, so what they read is filtered on. `relation` is a RangeVar's body, or a list of FROM items.
 */
export function definitionFilters(
  relation: Node | readonly Node[],
  expressions: readonly unknown[],
  ctx: LineageContext,
): void {
  const scope = new Scope();
  if (isList(relation)) for (const item of relation) addFromItem(scope, rangeItem(item, scope, ctx));
  else addFromItem(scope, single(rangeVar(relation, scope, ctx)));
  for (const expression of expressions) filter(expression, scope, ctx);
}

function isList(relation: Node | readonly Node[]): relation is readonly Node[] {
  return Array.isArray(relation);
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
  if (typeof position === 'number') return outputAt(scope, position);
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
      return columnRef(body, scope, ctx);
    case 'SubLink':
      return subLink(body, scope, ctx);
    case 'FuncCall':
      return funcCall(body, scope, ctx);
    case 'A_Expr':
      return operatorCall(operatorsOf(body), generic(body, scope, ctx).sources, ctx);
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

function columnRef(body: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const fields = list(body['fields']);
  const parts = names(fields);
  if (fields.at(-1)?.['A_Star'] !== undefined) {
    // `t.*` inside an expression (row_to_json(t.*)): the whole row.
    const qualifier = qualifierOf(parts.slice(0, -1));
    return qualifier ? wholeRow(scope, ctx, qualifier) : { sources: untraced('*') };
  }
  if (parts.length === 1) return unqualifiedColumn(scope, ctx, parts[0] as string);
  // `composite_column.field` cannot be written without parentheses: a qualifier names a FROM item.
  return qualifiedColumn(
    scope,
    ctx,
    qualifierOf(parts.slice(0, -1)) as { table: string },
    parts.at(-1) as string,
  );
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
  // x = ANY (SELECT ...), x IN (SELECT ...): compared by an operator, which may be user code.
  const operator = names(body['operName']);
  const sources = union(test, allSources(result));
  return operator.length > 0 ? operatorCall([operator], sources, ctx) : { sources };
}

/**
 * The operators an operator expression calls, each as its (possibly schema-qualified) name:
 * `a BETWEEN b AND c` compares with `>=` and `<=` (`<` and `>` when negated), the others name
 * theirs (`IN` and `IS DISTINCT FROM` `=`, `LIKE` `~~`, ...).
 */
function operatorsOf(body: Node): string[][] {
  const name = names(body['name']);
  return text(body['kind']).includes('BETWEEN') ? [['>='], ['<='], ['<'], ['>']] : [name];
}

/**
 * An operator's value: what its operands are made of, and untraced when one of its names may be an
 * operator defined on the server (outside pg_catalog, not an extension's): its function's body is
 * not read. (Its operands do not count as stored, unlike a user function's arguments: every
 * comparison would be a write whenever the catalog cannot be read.)
 */
function operatorCall(operators: readonly string[][], operands: SourceSet, ctx: LineageContext): ExprLineage {
  const sources = new SourceSet().addAll(operands);
  for (const parts of operators) {
    const name = parts.at(-1);
    if (name === undefined) continue;
    const schema = parts.length > 1 ? parts.at(-2) : undefined;
    const user =
      schema === undefined ? ctx.catalog.userFunction(name) : schema !== POSTGRES_DIALECT.builtinSchema;
    if (user === undefined) ctx.missingFunctions.add(name);
    if (user !== false) sources.addAll(untraced(`operator ${parts.join('.')}`));
  }
  return { sources };
}

function funcCall(body: Node, scope: Scope, ctx: LineageContext): ExprLineage {
  const args = generic(body, scope, ctx).sources;
  // OVER w: the named window's partitioning and ordering decide the value too.
  const over = body['over'] as Node | undefined;
  for (const ref of [over?.['name'], over?.['refname']]) {
    const window = typeof ref === 'string' ? findWindow(ref, scope) : undefined;
    if (window) args.addAll(generic(window, scope, ctx).sources);
  }
  const parts = names(body['funcname']);
  const name = (parts.at(-1) ?? '').toLowerCase();
  if (SET_RETURNING_FUNCTIONS.has(name)) ctx.filtered.addAll(args);
  return callLineage(parts, args, ctx);
}

function findWindow(name: string, scope: Scope): Node | undefined {
  for (let level: Scope | undefined = scope; level; level = level.parent) {
    const found = level.windows.get(name);
    if (found) return found;
  }
  return undefined;
}
