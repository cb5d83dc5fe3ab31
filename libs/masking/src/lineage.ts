import type { Masker } from './masker';

/**
 * Lineage of SQL results, in terms every SQL dialect shares: which stored columns each output column
 * of a statement is made from, and which a statement writes somewhere or filters on. The engines
 * compute it from their own parse trees and catalogs (PostgreSQL: protocols/postgres sql/lineage,
 * MySQL: protocols/mysql sql/lineage); masking and policy read it from here.
 */

/** A column of a stored relation, as the catalog names it. */
export interface SourceColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  /**
   * The same column of another table of its inheritance or partition tree (PostgreSQL): a masking
   * rule on either covers a value read through the other. Never the only source of a value.
   */
  readonly related?: true;
}

/** A value whose origin cannot be traced (an unresolved view, a user function, ...): fail closed. */
export interface UntracedSource {
  readonly untraced: string;
}

export type LineageSource = SourceColumn | UntracedSource;

/** One output column: a plain reference to a stored column, or a value made from `sources`. */
export interface OutputColumn {
  readonly name: string;
  /** Set when the output is exactly the stored column (through aliases, subqueries, CTEs, views). */
  readonly plain?: SourceColumn;
  /** Every source the value is made from (the plain column itself included). */
  readonly sources: readonly LineageSource[];
}

/**
 * The result columns of a statement: known one by one, or (a `*` over something whose shape is not
 * known) only as the sources every column may be made from.
 */
export type OutputLineage =
  | { readonly columns: readonly OutputColumn[] }
  | { readonly columns?: undefined; readonly anyColumn: readonly LineageSource[] };

/** What every dialect's statement lineage has: its rows, what it stores and what it filters on. */
export interface LineageOfStatement {
  /** Rows the statement returns; absent when none. */
  readonly outputs?: OutputLineage;
  /** Sources of values the statement stores (tables, files, variables, settings, ...). */
  readonly written: readonly LineageSource[];
  /** Sources the statement filters, joins, groups or orders rows by (inference by predicate). */
  readonly filtered: readonly LineageSource[];
  /**
   * Columns of the tables the statement modifies: not returned, stored elsewhere or filtered on, but
   * the server's errors may quote them (MySQL's `Duplicate entry '<key>'` of another row's key).
   */
  readonly touched?: readonly LineageSource[];
  /**
   * Columns whose names the statement changes: the column, its table or its schema renamed, the
   * table moved to another schema, a partition or child table cut from its tree (PostgreSQL). A
   * masking rule names columns, so after such a statement it would no longer match them.
   */
  readonly renamed?: readonly LineageSource[];
}

export const isUntraced = (source: LineageSource): source is UntracedSource => 'untraced' in source;

/** The sources that are not `related` columns: what a value is made from in its own right. */
export const ownSources = (sources: readonly LineageSource[]): LineageSource[] =>
  sources.filter((source) => isUntraced(source) || source.related === undefined);

/** A statement nothing is known of (unparsed SQL, an unknown prepared statement): fail closed. */
export function untracedStatement(reason: string): LineageOfStatement {
  const untraced = [{ untraced: reason }];
  return { outputs: { anyColumn: untraced }, written: untraced, filtered: [] };
}

/**
 * Whether a statement reads a masked column (or something untraced) anywhere: its results, its
 * filters, its writes (an unknown statement counts). The server's errors and notices for such a
 * statement may quote the values it read (PostgreSQL `ssn::int`, MySQL `EXTRACTVALUE`'s XPath error).
 */
export function readsMasked(statement: LineageOfStatement | undefined, masker: Masker): boolean {
  if (!statement) return true;
  const masked = (source: LineageSource) => isUntraced(source) || masker.isMaskedColumn(source);
  const outputs = statement.outputs;
  const results = outputs
    ? outputs.columns
      ? outputs.columns.some((c) => c.sources.some(masked))
      : outputs.anyColumn.some(masked)
    : false;
  return (
    results ||
    statement.filtered.some(masked) ||
    statement.written.some(masked) ||
    (statement.touched ?? []).some(masked)
  );
}

/**
 * Whether a statement stores into or changes a table holding a masked column (or something
 * untraced; an unknown statement counts). Checks the server runs later in the same transaction
 * (PostgreSQL's deferred constraints, at COMMIT, SET CONSTRAINTS or a Sync) quote those rows.
 */
export function changesMasked(statement: LineageOfStatement | undefined, masker: Masker): boolean {
  if (!statement) return true;
  const masked = (source: LineageSource) => isUntraced(source) || masker.isMaskedColumn(source);
  return statement.written.some(masked) || (statement.touched ?? []).some(masked);
}

const EMPTY = new Map<string, LineageSource>();

/** A deduplicated set of lineage sources, in the order first seen. */
export class SourceSet {
  // Most sets stay empty (constants, parameters): the map is made on the first add.
  private byKey: Map<string, LineageSource> | undefined;

  static of(...sources: readonly LineageSource[]): SourceSet {
    const set = new SourceSet();
    for (const source of sources) set.add(source);
    return set;
  }

  add(source: LineageSource): this {
    const key = isUntraced(source)
      ? `?\u0000${source.untraced}`
      : `${source.schema}\u0000${source.table}\u0000${source.column}`;
    this.byKey ??= new Map();
    if (!this.byKey.has(key)) this.byKey.set(key, source);
    return this;
  }

  addAll(sources: Iterable<LineageSource> | SourceSet): this {
    if (sources instanceof SourceSet) {
      if (!sources.byKey) return this;
      if (!this.byKey) {
        this.byKey = new Map(sources.byKey);
        return this;
      }
      for (const [key, source] of sources.byKey) if (!this.byKey.has(key)) this.byKey.set(key, source);
      return this;
    }
    for (const source of sources) this.add(source);
    return this;
  }

  values(): IterableIterator<LineageSource> {
    return (this.byKey ?? EMPTY).values();
  }

  get size(): number {
    return this.byKey?.size ?? 0;
  }

  toArray(): LineageSource[] {
    return this.byKey ? [...this.byKey.values()] : [];
  }
}

/**
 * What lineage says of one result column: `plain` a masked column itself (its format-preserving
 * mask), `whole` a value made from a masked column or of untraced origin (masked whole), `clear`
 * nothing masked (content detectors still apply).
 */
export type ColumnMask = 'plain' | 'whole' | 'clear';

/**
 * The mask of each of `count` result columns from a statement's output lineage. No lineage, or one
 * whose column count differs from the result's (the catalog changed under it), fails closed.
 */
export function columnMasks(outputs: OutputLineage | undefined, count: number, masker: Masker): ColumnMask[] {
  const masked = (source: LineageSource) => isUntraced(source) || masker.isMaskedColumn(source);
  if (!outputs) return new Array<ColumnMask>(count).fill('whole');
  if (!outputs.columns)
    return new Array<ColumnMask>(count).fill(outputs.anyColumn.some(masked) ? 'whole' : 'clear');
  if (outputs.columns.length !== count) {
    const any = outputs.columns.some((c) => c.sources.some(masked));
    return new Array<ColumnMask>(count).fill(any ? 'whole' : 'clear');
  }
  return outputs.columns.map((column) => {
    if (!column.sources.some(masked)) return 'clear';
    // A plain reference keeps its format-preserving mask when a rule names its column, or the same
    // column of a parent or partition (a `related` source).
    return column.plain && ownSources(column.sources).length === 1 && !column.sources.some(isUntraced)
      ? 'plain'
      : 'whole';
  });
}

/**
 * The lineage facts policy decides on (`SqlLineageFacts` of @tollgate/policy): the sources of
 * outputs other than plain references (`on_derived`), of stored values and of filters.
 */
export function lineageFacts(statement: LineageOfStatement): {
  readonly derived: readonly LineageSource[];
  readonly written: readonly LineageSource[];
  readonly filtered: readonly LineageSource[];
  readonly renamed?: readonly LineageSource[];
} {
  const derived: LineageSource[] = [];
  const outputs = statement.outputs;
  if (outputs?.columns) {
    for (const column of outputs.columns) {
      // A plain reference is masked in place (format-preserving); anything else is derived.
      const onlyItself = column.plain !== undefined && ownSources(column.sources).length === 1;
      if (!onlyItself) derived.push(...column.sources);
    }
  } else if (outputs) {
    derived.push(...outputs.anyColumn);
  }
  return {
    derived,
    written: statement.written,
    filtered: statement.filtered,
    ...(statement.renamed?.length ? { renamed: statement.renamed } : {}),
  };
}

/** The lineage facts policy decides on, as `lineageFacts` gives them. */
export type LineageFacts = ReturnType<typeof lineageFacts>;

/**
 * The lineage facts of each statement of a classification (both SQL engines): each top-level
 * statement gets those of its lineage, in order (one lineage missing, should it happen: untraced),
 * and the statements nested in a PREPARE those of what it prepares, which EXECUTE is decided on.
 */
export function attachLineage<Facts extends { readonly nestedIn?: string | undefined }>(
  statements: readonly Facts[],
  lineage: readonly (LineageOfStatement & { readonly prepared?: LineageOfStatement | undefined })[],
  attach: (facts: Facts, lineage: LineageFacts) => Facts,
): Facts[] {
  let next = 0;
  let inPrepare: LineageOfStatement | undefined;
  return statements.map((facts) => {
    if (facts.nestedIn === undefined) {
      const statement = lineage[next++] ?? untracedStatement('statement');
      inPrepare = (statement as { readonly prepared?: LineageOfStatement }).prepared;
      return attach(facts, lineageFacts(statement));
    }
    if (facts.nestedIn === 'PREPARE' && inPrepare) return attach(facts, lineageFacts(inPrepare));
    return facts;
  });
}
