/**
 * Lineage of SQL results: which table columns each output column of a statement is made from, and
 * which columns a statement writes somewhere or filters on. Computed from the parse tree and
 * catalog facts only (no I/O here); the session reads the catalog (see proxy/lineage-catalog.ts).
 */

/** A column of a stored relation, as the catalog names it. */
export interface SourceColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
  /**
   * The same column of another table of its inheritance or partition tree: the rows of a partition
   * are rows of its parent and the parent's rows those of its partitions, so a masking rule on
   * either covers a value read through the other. Never the only source of a value.
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
 * known, such as a set-returning function without column names) only as the sources every column
 * may be made from.
 */
export type OutputLineage =
  | { readonly columns: readonly OutputColumn[] }
  | { readonly columns?: undefined; readonly anyColumn: readonly LineageSource[] };

export interface StatementLineage {
  /** Rows the statement returns (SELECT, RETURNING, COPY TO STDOUT, ...); absent when none. */
  readonly outputs?: OutputLineage;
  /** Sources of values the statement stores (tables, files, sequences, settings, notifications). */
  readonly written: readonly LineageSource[];
  /** Sources the statement filters, joins, groups or orders rows by (inference by predicate). */
  readonly filtered: readonly LineageSource[];
  /** DECLARE: the cursor it opens (its rows are `outputs`, returned later by FETCH). */
  readonly declares?: string;
  /** FETCH: the cursor whose rows it returns. */
  readonly fetches?: string;
  /** PREPARE: the name, and the lineage of what EXECUTE will run; EXECUTE: the name it runs. */
  readonly prepares?: string;
  readonly prepared?: StatementLineage;
  readonly executes?: string;
  /** COPY TO STDOUT: how its rows are written, to take them apart. */
  readonly copy?: CopyFormat;
  /** The statement changes the catalog (DDL): cached catalog facts are dropped. */
  readonly changesCatalog?: true;
}

export interface CopyFormat {
  readonly format: 'text' | 'csv' | 'binary';
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly header: boolean;
}

/** A stored relation as the catalog describes it. */
export interface RelationFacts {
  readonly schema: string;
  readonly name: string;
  /** `view` covers materialized views too: their columns are traced through `definition`. */
  readonly kind: 'table' | 'view';
  readonly columns: readonly { readonly name: string; readonly type: string; readonly generated?: boolean }[];
  /** A view's query (pg_get_viewdef). */
  readonly definition?: string;
  /** Tables whose rows are or include this table's: its ancestors and descendants (pg_inherits). */
  readonly related?: readonly { readonly schema: string; readonly name: string }[];
}

/** The sources that are not `related` columns: what a value is made from in its own right. */
export const ownSources = (sources: readonly LineageSource[]): LineageSource[] =>
  sources.filter((source) => isUntraced(source) || source.related === undefined);

/**
 * What the analyzer asks of the target's catalog. `undefined` means "not read yet": the analysis
 * reports what it is missing, the caller reads it and analyzes again.
 */
export interface LineageCatalog {
  /** Relations named `name` in `schema`, or in any schema when unqualified (empty: none). */
  relations(name: string, schema?: string): readonly RelationFacts[] | undefined;
  /** Whether some function or operator function of this name exists outside pg_catalog. */
  userFunction(name: string): boolean | undefined;
}

export interface MissingCatalogFacts {
  readonly relations: readonly { readonly name: string; readonly schema?: string }[];
  readonly functions: readonly string[];
}

/**
 * The lineage of each statement of a query string. `missing` lists the catalog facts the analysis
 * lacked (it then counted what they would have told as untraced): read them and analyze again.
 */
export type LineageAnalysis =
  | { readonly statements: readonly StatementLineage[]; readonly missing?: MissingCatalogFacts }
  | { readonly unparsed: string };

export const isUntraced = (source: LineageSource): source is UntracedSource => 'untraced' in source;
