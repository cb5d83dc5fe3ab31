import { SourceSet, type LineageSource, type OutputLineage, type SourceColumn } from './lineage';

/**
 * The dialect-independent core of query lineage: how output columns derive from stored columns
 * through aliases, `*`, subqueries, CTEs (recursive ones widened until they settle), joins, set
 * operations, views and function calls, and the fail-closed decisions (unknown names, relations and
 * functions are untraced). Each engine maps its own parser's tree onto these functions
 * (protocols/postgres and protocols/mysql sql/lineage/query-lineage.ts); a fix here holds for both.
 * Pure: the catalog is read by the caller (see SessionCatalog).
 */

/** One column of something in FROM (or of a query's result). */
export interface Column {
  readonly name: string;
  readonly plain?: SourceColumn;
  readonly sources: SourceSet;
}

/** A query's result: its columns, or (shape unknown) the sources any of its columns may hold. */
export type QueryColumns = { readonly columns: readonly Column[] } | { readonly any: SourceSet };

/** What an expression is made of: a plain column reference, or a value made from sources. */
export interface ExprLineage {
  readonly plain?: SourceColumn;
  readonly sources: SourceSet;
}

/** Something in FROM that a column reference can name. */
export interface RangeEntry {
  /** The name that qualifies its columns (folded): the alias, or the relation's own name. */
  readonly alias: string | undefined;
  /** The schema (database), when the entry is a relation named without an alias (`s.t.c`). */
  readonly schema?: string;
  /** Known columns; undefined when the shape is unknown (then every column holds `any`). */
  readonly columns: readonly Column[] | undefined;
  readonly any: SourceSet;
}

/** What `*` over one FROM item expands to (a join USING merges its common columns). */
export interface FromItem {
  readonly entries: readonly RangeEntry[];
  readonly star: QueryColumns;
}

/** Names visible at one query level, and the levels around it (correlated subqueries, LATERAL). */
export class Scope<Window = unknown> {
  readonly entries: RangeEntry[] = [];
  /** The FROM items so far, in order, for `*`. */
  items: FromItem[] = [];
  readonly ctes = new Map<string, QueryColumns>();
  /** Windows named in WINDOW, which OVER name refers to (what the dialect keeps of each). */
  readonly windows = new Map<string, Window>();
  /** Output columns, for clauses that name a result column (ORDER BY, GROUP BY, HAVING). */
  outputs: QueryColumns | undefined;

  constructor(readonly parent?: Scope<Window>) {}

  cte(name: string): QueryColumns | undefined {
    return this.ctes.get(name) ?? this.parent?.cte(name);
  }

  /** What a subquery in FROM that is not LATERAL sees: the levels outside and this level's CTEs. */
  outside(): Scope<Window> {
    const outside = new Scope<Window>(this.parent);
    for (const [name, cte] of this.ctes) outside.ctes.set(name, cte);
    return outside;
  }
}

/** A stored relation as a catalog describes it (each dialect's facts extend this). */
export interface StoredRelation {
  readonly schema: string;
  readonly name: string;
  /** `view` covers materialized views too: their columns are traced through `definition`. */
  readonly kind: 'table' | 'view';
  /** Columns in order; `generated` ones are computed from others (untraced). */
  readonly columns: readonly { readonly name: string; readonly generated?: boolean }[];
  /** A view's query; absent when the catalog does not show it (then the view is untraced). */
  readonly definition?: string;
  /**
   * A materialized view: its rows are what its query gave when it was last refreshed. The views its
   * query reads may have been replaced since (CREATE OR REPLACE VIEW), so it is traced through its
   * query only when that query reads no view.
   */
  readonly materialized?: true;
  /** Tables whose rows are or include this one's (PostgreSQL inheritance and partitions). */
  readonly related?: readonly { readonly schema: string; readonly name: string }[];
}

/**
 * What the analysis asks of the target's catalog. `undefined` means "not read yet": the analysis
 * reports what it is missing, the caller reads it and analyzes again.
 */
export interface StoredCatalog<Relation extends StoredRelation = StoredRelation> {
  /** Relations named `name` in `schema`, or (dialects with a search path) in any schema. */
  relations(name: string, schema: string | undefined): readonly Relation[] | undefined;
  /** Whether a user-defined function of this name exists (its body is not read). */
  userFunction(name: string): boolean | undefined;
}

export interface MissingRelation {
  readonly name: string;
  readonly schema?: string;
}

/** How one SQL dialect's names, catalog and built-ins behave. */
export interface LineageDialect<Tree> {
  /** How names compare once parsed: as they are (PostgreSQL folds them), or in lower case (MySQL). */
  readonly fold: (name: string) => string;
  /**
   * Unqualified relation names: looked up in every schema (PostgreSQL: the search_path is not
   * known here), or only in the current database, none meaning untraced (MySQL).
   */
  readonly searchPath: boolean;
  /** Column lists in FROM and WITH may name fewer columns than the query has (PostgreSQL). */
  readonly partialColumnAliases: boolean;
  /** An unqualified name that matches no column may be a whole row, named by its alias. */
  readonly wholeRowReferences: boolean;
  /** An unqualified name that matches no FROM column may name a result column (HAVING, ORDER BY). */
  readonly outputAliasReferences: boolean;
  /**
   * A join's USING or NATURAL columns come in the order of its first side's columns (MySQL), not in
   * USING's order (PostgreSQL).
   */
  readonly joinColumnsInTableOrder?: boolean;
  /** The schema of built-in functions: a call qualified with it is a built-in (pg_catalog). */
  readonly builtinSchema?: string;
  /** Built-ins that store an argument where the session can read it back: a write of it. */
  readonly sideEffectFunctions: ReadonlySet<string>;
  /** Built-ins whose value is not made from their arguments alone (a file's content): untraced. */
  readonly untracedFunctions: ReadonlySet<string>;
  /**
   * Built-ins whose arguments decide how long the statement takes (sleeping, repeating work): the
   * client times them, so what decided them is filtered on, as a WHERE would be.
   */
  readonly timingFunctions: ReadonlySet<string>;
  /** Columns of a stored relation that hold values copied from others (planner statistics). */
  untracedColumn?(relation: StoredRelation, column: string): boolean;
  /** Parses a view's definition into one query. */
  parse(sql: string): Tree | undefined;
  /** Lineage of a view's query, parsed by `parse`. */
  query(tree: Tree, ctx: LineageContext<Tree>): QueryColumns;
}

const MAX_VIEW_DEPTH = 12;
const MAX_RECURSION_ROUNDS = 16;

/** Everything one statement's analysis accumulates. */
export class LineageContext<Tree = unknown> {
  readonly written = new SourceSet();
  readonly filtered = new SourceSet();
  missingRelations = new Map<string, MissingRelation>();
  missingFunctions = new Set<string>();
  /** A view (or materialized view) was read through its definition at this level. */
  readView = false;

  constructor(
    readonly catalog: StoredCatalog,
    readonly dialect: LineageDialect<Tree>,
    /** The database unqualified relation names are in (MySQL's USE); undefined: none, or a search path. */
    readonly database?: string,
    private readonly viewDepth = 0,
  ) {}

  /** A context of its own (writes, filters) for a statement inside this one, sharing what is missing. */
  fresh(database = this.database, viewDepth = this.viewDepth): LineageContext<Tree> {
    const inner = new LineageContext(this.catalog, this.dialect, database, viewDepth);
    // Missing facts found inside a view or a prepared statement are missing for the statement.
    inner.missingRelations = this.missingRelations;
    inner.missingFunctions = this.missingFunctions;
    return inner;
  }

  /** The context of a view's query: one level deeper (bounded, so cycles end), in the view's schema. */
  view(relation: StoredRelation): LineageContext<Tree> | undefined {
    if (this.viewDepth >= MAX_VIEW_DEPTH) return undefined;
    return this.fresh(this.dialect.searchPath ? this.database : relation.schema, this.viewDepth + 1);
  }

  /** A relation the catalog has not been read for. */
  missRelation(name: string, schema: string | undefined): void {
    const fold = this.dialect.fold;
    this.missingRelations.set(`${fold(schema ?? '')}\u0000${fold(name)}`, {
      name,
      ...(schema !== undefined ? { schema } : {}),
    });
  }

  get complete(): boolean {
    return this.missingRelations.size === 0 && this.missingFunctions.size === 0;
  }
}

export function untraced(reason: string): SourceSet {
  return SourceSet.of({ untraced: reason });
}

export function union(...parts: readonly (SourceSet | ExprLineage | undefined)[]): SourceSet {
  const out = new SourceSet();
  for (const part of parts) if (part) out.addAll(part instanceof SourceSet ? part : part.sources);
  return out;
}

export function allSources(result: QueryColumns): SourceSet {
  if (!('columns' in result)) return result.any;
  return union(...result.columns.map((c) => c.sources));
}

/** Result columns as statement lineage shows them. */
export function toOutputs(result: QueryColumns): OutputLineage {
  if (!('columns' in result)) return { anyColumn: result.any.toArray() };
  return {
    columns: result.columns.map((c) => ({
      name: c.name,
      ...(c.plain ? { plain: c.plain } : {}),
      sources: c.sources.toArray(),
    })),
  };
}

// ---- queries -------------------------------------------------------------------------------

/** UNION, INTERSECT, EXCEPT: columns by position; a value through one is no longer a plain reference. */
export function setOperation(left: QueryColumns, right: QueryColumns): QueryColumns {
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

/** A result's columns named by a column list (`AS x(a, b)`, `WITH t(a, b)`). */
export function renamed<T>(
  result: QueryColumns,
  aliases: readonly string[],
  ctx: LineageContext<T>,
): QueryColumns {
  if (aliases.length === 0 || !('columns' in result)) return result;
  // More names than columns is an error on the server (fewer, where the dialect allows it, names
  // the first ones); fail closed anyway.
  const fits = ctx.dialect.partialColumnAliases
    ? aliases.length <= result.columns.length
    : aliases.length === result.columns.length;
  if (!fits) return { any: allSources(result) };
  return { columns: result.columns.map((c, i) => ({ ...c, name: aliases[i] ?? c.name })) };
}

/**
 * A common table expression, bound in `scope`. A recursive one reads itself: start from nothing
 * known, widen until each column's sources settle (a value can move one column per round); still
 * widening after the last round, any column may hold whatever it reads.
 */
export function withQuery<W>(
  scope: Scope<W>,
  name: string,
  recursive: boolean,
  evaluate: () => QueryColumns,
): void {
  if (!recursive) {
    scope.ctes.set(name, evaluate());
    return;
  }
  scope.ctes.set(name, { any: new SourceSet() });
  let result: QueryColumns = { columns: [] };
  let settled = false;
  for (let round = 0; round < MAX_RECURSION_ROUNDS && !settled; round++) {
    const next = derivedOnly(evaluate());
    settled = round > 0 && signature(next) === signature(result);
    result = next;
    scope.ctes.set(name, result);
  }
  if (!settled) scope.ctes.set(name, { any: allSources(result) });
}

/**
 * The common table expressions of one WITH RECURSIVE whose items may read each other in any order
 * (PostgreSQL: an item may name one listed after it, which then means that item, not a relation of
 * the same name). All names are bound from the start, knowing nothing, and every item is evaluated
 * again, round after round, until none changes; still changing after the last round, any column of
 * each may hold whatever any of them reads.
 */
export function recursiveWithQueries<W>(
  scope: Scope<W>,
  items: readonly { readonly name: string; readonly evaluate: () => QueryColumns }[],
): void {
  for (const item of items) scope.ctes.set(item.name, { any: new SourceSet() });
  let settled = false;
  let previous: string | undefined;
  for (let round = 0; round < MAX_RECURSION_ROUNDS && !settled; round++) {
    for (const item of items) scope.ctes.set(item.name, derivedOnly(item.evaluate()));
    const now = items.map((item) => signature(scope.ctes.get(item.name) as QueryColumns)).join(';');
    settled = now === previous;
    previous = now;
  }
  if (settled) return;
  const all = union(...items.map((item) => allSources(scope.ctes.get(item.name) as QueryColumns)));
  for (const item of items) scope.ctes.set(item.name, { any: all });
}

/** How many sources each column has: sources only grow, so an unchanged signature means settled. */
function signature(result: QueryColumns): string {
  return 'columns' in result ? result.columns.map((c) => c.sources.size).join(',') : `any ${result.any.size}`;
}

/** A column that went through recursion is no longer a plain reference. */
function derivedOnly(result: QueryColumns): QueryColumns {
  if (!('columns' in result)) return result;
  return { columns: result.columns.map((c) => ({ name: c.name, sources: c.sources })) };
}

/** VALUES rows: each column made from what any row puts in it. */
export function valuesColumns(
  rows: readonly (readonly unknown[])[],
  value: (item: unknown) => SourceSet,
  name: (index: number) => string,
): QueryColumns {
  const columns: SourceSet[] = [];
  for (const row of rows)
    row.forEach((item, i) => {
      columns[i] = union(columns[i], value(item));
    });
  return { columns: columns.map((sources, i) => ({ name: name(i), sources })) };
}

/** The sources of the result column at `position` (ORDER BY 2, GROUP BY 1, DISTINCT ON (2)). */
export function outputAt(scope: Scope<unknown>, position: number): SourceSet | undefined {
  const outputs = scope.outputs;
  if (!outputs) return undefined;
  if (!('columns' in outputs)) return outputs.any;
  return outputs.columns[position - 1]?.sources;
}

// ---- the select list -------------------------------------------------------------------------

/** Collects a select list: its columns, unless a `*` over something of unknown shape is in it. */
export class TargetColumns {
  private readonly columns: Column[] = [];
  private unknownShape: SourceSet | undefined;

  add(name: string, lineage: ExprLineage): void {
    this.columns.push({ name, ...(lineage.plain ? { plain: lineage.plain } : {}), sources: lineage.sources });
  }

  addAll(expanded: QueryColumns): void {
    if ('columns' in expanded) this.columns.push(...expanded.columns);
    else this.unknownShape = union(this.unknownShape, expanded.any);
  }

  result(): QueryColumns {
    if (this.unknownShape) return { any: union(this.unknownShape, ...this.columns.map((c) => c.sources)) };
    return { columns: this.columns };
  }
}

/** `*` (no qualifier: every FROM item so far) or `t.*`, `s.t.*`. */
export function expandStar<T>(
  scope: Scope<unknown>,
  ctx: LineageContext<T>,
  qualifier?: { readonly schema?: string; readonly table: string },
): QueryColumns {
  if (!qualifier) {
    const columns: Column[] = [];
    for (const item of scope.items) {
      if (!('columns' in item.star)) return { any: union(...scope.items.map((i) => allSources(i.star))) };
      columns.push(...item.star.columns);
    }
    return { columns };
  }
  const entries = findEntries(scope, ctx, qualifier.table, qualifier.schema);
  const label = [qualifier.schema, qualifier.table].filter(Boolean).join('.');
  if (entries.length !== 1) return { any: union(untraced(`${label}.*`), ...entries.map((e) => e.any)) };
  const [entry] = entries as [RangeEntry];
  return entry.columns ? { columns: entry.columns } : { any: entry.any };
}

// ---- FROM ----------------------------------------------------------------------------------

export function entryOf(alias: string | undefined, result: QueryColumns, schema?: string): RangeEntry {
  const columns = 'columns' in result ? result.columns : undefined;
  return { alias, ...(schema ? { schema } : {}), columns, any: allSources(result) };
}

export function single(entry: RangeEntry): FromItem {
  return { entries: [entry], star: entry.columns ? { columns: entry.columns } : { any: entry.any } };
}

/** A FROM item joins the scope: its names and its `*`. */
export function addFromItem(scope: Scope<unknown>, item: FromItem): void {
  scope.entries.push(...item.entries);
  scope.items.push(item);
}

/**
 * What `*` over `left JOIN right` expands to: USING and NATURAL merge the common columns (made from
 * both sides), which are compared, so filtered on. The merged columns come first, then the rest of
 * the first side's, then the other's. The first side is the left one, except for a dialect whose
 * RIGHT JOIN is its LEFT JOIN with the sides swapped (`rightFirst`: MySQL); a dialect with
 * `joinColumnsInTableOrder` puts the merged columns in the first side's order, not USING's.
 */
export function joinedStar<T>(
  left: QueryColumns,
  right: QueryColumns,
  using: readonly string[],
  natural: boolean,
  ctx: LineageContext<T>,
  rightFirst = false,
): QueryColumns {
  const fold = ctx.dialect.fold;
  const [first, second] = rightFirst ? [right, left] : [left, right];
  const named = natural ? naturalColumns(first, second, fold) : using.map(fold);
  for (const name of named)
    ctx.filtered.addAll(columnOf(left, name, fold)).addAll(columnOf(right, name, fold));
  if (!('columns' in first) || !('columns' in second))
    return { any: union(allSources(left), allSources(right)) };
  if (named.length === 0) return { columns: [...first.columns, ...second.columns] };
  const common = ctx.dialect.joinColumnsInTableOrder ? inTableOrder(named, first.columns, fold) : named;
  // The merged column is the first side's (COALESCE for outer joins): made from both sides.
  const merged = common.map((name) => {
    const own = first.columns.find((c) => fold(c.name) === name);
    return {
      name: own?.name ?? name,
      sources: union(columnOf(first, name, fold), columnOf(second, name, fold)),
    };
  });
  const rest = (columns: readonly Column[]) => columns.filter((c) => !common.includes(fold(c.name)));
  return { columns: [...merged, ...rest(first.columns), ...rest(second.columns)] };
}

/** The names, once each, in the order `columns` has them (names it lacks last: the server refuses those). */
function inTableOrder(names: readonly string[], columns: readonly Column[], fold: (name: string) => string) {
  const ordered = [...new Set(columns.map((c) => fold(c.name)).filter((name) => names.includes(name)))];
  return [...ordered, ...names.filter((name) => !ordered.includes(name))];
}

function naturalColumns(left: QueryColumns, right: QueryColumns, fold: (name: string) => string): string[] {
  // Of a side whose shape is unknown, any column may be common: all of it is compared.
  if (!('columns' in left) || !('columns' in right)) return [];
  return left.columns
    .map((c) => fold(c.name))
    .filter((name) => right.columns.some((r) => fold(r.name) === name));
}

function columnOf(result: QueryColumns, name: string, fold: (name: string) => string): SourceSet {
  if (!('columns' in result)) return result.any;
  return union(...result.columns.filter((c) => fold(c.name) === name).map((c) => c.sources));
}

// ---- stored relations ------------------------------------------------------------------------

/** A stored relation's columns: tables as themselves, views through their definitions. */
export function relationLineage<T>(
  name: string,
  schema: string | undefined,
  ctx: LineageContext<T>,
): QueryColumns {
  const label = schema ? `${schema}.${name}` : name;
  if (schema === undefined && !ctx.dialect.searchPath)
    return { any: untraced(`relation ${label} (no database selected)`) };
  const candidates = ctx.catalog.relations(name, schema);
  if (candidates === undefined) {
    ctx.missRelation(name, schema);
    return { any: untraced(`relation ${label} (not read yet)`) };
  }
  // Not in the catalog the agent reads: a temporary table, one made in an open transaction, or one
  // the catalog connection may not see.
  if (candidates.length === 0) return { any: untraced(`relation ${label} (not in the catalog)`) };
  const results = candidates.map((relation) => relationColumns(relation, ctx));
  const [first, ...others] = results as [QueryColumns, ...QueryColumns[]];
  if (others.length === 0) return first;
  // The same name several times (other schemas on a search path, names that differ only in case):
  // which one the server picks is not known here, so each column holds what the same column of
  // every candidate holds.
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
const tableColumns = new WeakMap<StoredRelation, QueryColumns>();

function relationColumns<T>(relation: StoredRelation, ctx: LineageContext<T>): QueryColumns {
  if (relation.kind === 'view') return viewColumns(relation, ctx);
  let columns = tableColumns.get(relation);
  if (!columns) tableColumns.set(relation, (columns = storedColumns(relation, ctx.dialect)));
  return columns;
}

function storedColumns<T>(relation: StoredRelation, dialect: LineageDialect<T>): QueryColumns {
  return {
    columns: relation.columns.map((column) => {
      if (column.generated || dialect.untracedColumn?.(relation, column.name))
        return { name: column.name, sources: untraced(`${relation.name}.${column.name} is computed`) };
      const plain = { schema: relation.schema, table: relation.name, column: column.name };
      const sources = SourceSet.of(plain);
      for (const other of relation.related ?? [])
        sources.add({ schema: other.schema, table: other.name, column: column.name, related: true });
      return { name: column.name, plain, sources };
    }),
  };
}

function viewColumns<T>(relation: StoredRelation, ctx: LineageContext<T>): QueryColumns {
  ctx.readView = true;
  const reason = `view ${relation.schema}.${relation.name}`;
  const inner = ctx.view(relation);
  const tree = relation.definition === undefined ? undefined : ctx.dialect.parse(relation.definition);
  if (!inner || tree === undefined) return { any: untraced(`${reason} (definition not resolved)`) };
  const result = ctx.dialect.query(tree, inner);
  // Reading a view runs its query: what it stores (a set_config of a column) is stored by the
  // statement, and what it filters on decides which rows the statement returns (a materialized
  // view's rows were chosen so when it was refreshed; reading it stores nothing).
  if (!relation.materialized) ctx.written.addAll(inner.written);
  ctx.filtered.addAll(inner.filtered);
  // Rows stored when a view it reads said something else: what they hold is not known.
  if (relation.materialized && inner.readView)
    return { any: union(allSources(result), untraced(`materialized ${reason} over views`)) };
  if (!('columns' in result) || result.columns.length !== relation.columns.length)
    return { any: union(allSources(result), untraced(reason)) };
  // A view's columns are its query's, renamed to the names the catalog gives them.
  return {
    columns: relation.columns.map((column, i) => ({ ...(result.columns[i] as Column), name: column.name })),
  };
}

// ---- column references -------------------------------------------------------------------------

/** FROM entries a qualifier names, at the nearest level that has any (several: each may be meant). */
export function findEntries<T>(
  scope: Scope<unknown>,
  ctx: LineageContext<T>,
  table: string,
  schema?: string,
): RangeEntry[] {
  const fold = ctx.dialect.fold;
  const name = fold(table);
  const folded = schema === undefined ? undefined : fold(schema);
  for (let level: Scope<unknown> | undefined = scope; level; level = level.parent) {
    const found = level.entries.filter(
      (entry) => entry.alias === name && (folded === undefined || entry.schema === folded),
    );
    if (found.length > 0) return found;
  }
  return [];
}

function columnOfEntry(
  entry: RangeEntry,
  name: string,
  fold: (name: string) => string,
): ExprLineage | undefined {
  if (!entry.columns) return { sources: entry.any };
  const matches = entry.columns.filter((c) => fold(c.name) === name);
  if (matches.length === 1) {
    const [only] = matches as [Column];
    return only.plain ? { plain: only.plain, sources: only.sources } : { sources: only.sources };
  }
  if (matches.length > 1) return { sources: union(...matches) };
  return undefined;
}

/** `t.c`, `s.t.c`: the column of the entries the qualifier names; anything else is untraced. */
export function qualifiedColumn<T>(
  scope: Scope<unknown>,
  ctx: LineageContext<T>,
  qualifier: { readonly schema?: string; readonly table: string },
  column: string,
): ExprLineage {
  const fold = ctx.dialect.fold;
  const entries = findEntries(scope, ctx, qualifier.table, qualifier.schema);
  const matches = entries.map((entry) => columnOfEntry(entry, fold(column), fold));
  if (matches.length === 1 && matches[0]) return matches[0];
  if (matches.length > 0 && matches.every((m) => m !== undefined)) return { sources: union(...matches) };
  const label = [qualifier.schema, qualifier.table, column].filter(Boolean).join('.');
  return { sources: untraced(`column ${label}`) };
}

/** `t.*` inside an expression (row_to_json(t.*), a row constructor): the whole row. */
export function wholeRow<T>(
  scope: Scope<unknown>,
  ctx: LineageContext<T>,
  qualifier: { readonly schema?: string; readonly table: string },
): ExprLineage {
  const entries = findEntries(scope, ctx, qualifier.table, qualifier.schema);
  const label = [qualifier.schema, qualifier.table].filter(Boolean).join('.');
  return { sources: entries.length > 0 ? union(...entries.map((e) => e.any)) : untraced(`${label}.*`) };
}

/** An unqualified name: the nearest level's columns of that name, or what may hold it. */
export function unqualifiedColumn<T>(
  scope: Scope<unknown>,
  ctx: LineageContext<T>,
  column: string,
): ExprLineage {
  const { fold, wholeRowReferences, outputAliasReferences } = ctx.dialect;
  const name = fold(column);
  for (let level: Scope<unknown> | undefined = scope; level; level = level.parent) {
    const known = level.entries
      .map((entry) => (entry.columns ? columnOfEntry(entry, name, fold) : undefined))
      .filter((found): found is ExprLineage => found !== undefined);
    if (known.length === 1) return known[0] as ExprLineage;
    if (known.length > 1) return { sources: union(...known) };
    // A column of something whose columns are not known by name, or a whole row named by its alias.
    const unknownShape = level.entries.filter((entry) => !entry.columns);
    const rows = wholeRowReferences ? level.entries.filter((entry) => entry.alias === name) : [];
    if (unknownShape.length > 0 || rows.length > 0)
      return { sources: union(...unknownShape.map((e) => e.any), ...rows.map((e) => e.any)) };
    const outputs = outputAliasReferences ? level.outputs : undefined;
    if (outputs && 'columns' in outputs) {
      const named = outputs.columns.filter((c) => fold(c.name) === name);
      if (named.length > 0) return { sources: union(...named.map((c) => c.sources)) };
    } else if (outputs) {
      return { sources: outputs.any };
    }
  }
  return { sources: untraced(`column ${column}`) };
}

// ---- functions -----------------------------------------------------------------------------

/**
 * A function call's value, from its name (`parts`: schema-qualified or not) and what its arguments
 * are made of. Built-ins return what their arguments are made of (those that store an argument
 * write it; those that read elsewhere are untraced). A user function's body is not read: what it
 * returns and what it does with its arguments are not known, so fail closed both ways. Whether an
 * unqualified name is a user function is the catalog's to say (missing until it is read).
 */
export function callLineage<T>(
  parts: readonly string[],
  args: SourceSet,
  ctx: LineageContext<T>,
): ExprLineage {
  const dialect = ctx.dialect;
  const written = parts.at(-1) ?? '';
  // Built-ins are known by their lower-case names; the catalog by the name as the dialect compares
  // it (PostgreSQL: `"Leak"()` calls Leak, not leak).
  const name = written.toLowerCase();
  const schema = parts.length > 1 ? parts.at(-2) : undefined;
  if (dialect.sideEffectFunctions.has(name)) ctx.written.addAll(args);
  const builtin =
    schema === undefined || (dialect.builtinSchema !== undefined && schema === dialect.builtinSchema);
  if (builtin && dialect.timingFunctions.has(name)) ctx.filtered.addAll(args);
  if (builtin && dialect.untracedFunctions.has(name))
    return { sources: union(args, untraced(`function ${name}`)) };
  if (schema !== undefined) return builtin ? { sources: args } : userFunction(parts.join('.'), args, ctx);
  const stored = dialect.fold(written);
  const user = ctx.catalog.userFunction(stored);
  if (user === undefined) ctx.missingFunctions.add(stored);
  if (user === false) return { sources: args };
  return userFunction(stored, args, ctx);
}

function userFunction<T>(name: string, args: SourceSet, ctx: LineageContext<T>): ExprLineage {
  ctx.written.addAll(args);
  return { sources: union(args, untraced(`function ${name}`)) };
}

export type { LineageSource };
