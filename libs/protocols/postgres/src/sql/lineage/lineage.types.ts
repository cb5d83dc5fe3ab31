/**
 * Lineage of SQL results: which table columns each output column of a statement is made from, and
 * which columns a statement writes somewhere or filters on. Computed from the parse tree and
 * catalog facts only (no I/O here); the session reads the catalog (see proxy/lineage-catalog.ts).
 */

export {
  isUntraced,
  ownSources,
  type LineageSource,
  type OutputColumn,
  type OutputLineage,
  type SourceColumn,
  type UntracedSource,
} from '@tollgate/masking';
import type { LineageOfStatement } from '@tollgate/masking';

/**
 * A PostgreSQL statement's lineage: its rows (SELECT, RETURNING, COPY TO STDOUT, ...), what it stores
 * (tables, files, sequences, settings, notifications), what it filters on, and the names it binds.
 */
export interface StatementLineage extends LineageOfStatement {
  /** DECLARE: the cursor it opens (its rows are `outputs`, returned later by FETCH). */
  readonly declares?: string;
  /** DECLARE ... WITH HOLD: the cursor outlives its transaction. */
  readonly holds?: true;
  /** CLOSE: the cursor it closes (`null`: CLOSE ALL). */
  readonly closes?: string | null;
  /** FETCH and MOVE: the cursor whose query it runs (FETCH returns its rows). */
  readonly fetches?: string;
  /** PREPARE: the name, and the lineage of what EXECUTE will run; EXECUTE: the name it runs. */
  readonly prepares?: string;
  readonly prepared?: StatementLineage;
  readonly executes?: string;
  /** COPY TO STDOUT: how its rows are written, to take them apart. */
  readonly copy?: CopyFormat;
  /** The statement changes the catalog (DDL): cached catalog facts are dropped. */
  readonly changesCatalog?: true;
  /** It changes only the session's own temporary objects, which no other session sees. */
  readonly temporary?: true;
}

export interface CopyFormat {
  readonly format: 'text' | 'csv' | 'binary';
  readonly delimiter: string;
  readonly quote: string;
  readonly escape: string;
  readonly header: boolean;
  /** The ENCODING option (the session's client_encoding when absent). */
  readonly encoding?: string;
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
  /** A materialized view (relkind m): its rows are its query's as of its last refresh. */
  readonly materialized?: true;
  /** Tables whose rows are or include this table's: its ancestors and descendants (pg_inherits). */
  readonly related?: readonly { readonly schema: string; readonly name: string }[];
  /**
   * Tables with a foreign key to this one (pg_constraint): a change here can change their rows (ON
   * UPDATE / ON DELETE actions, now or at COMMIT), and the server's errors then quote those rows.
   */
  readonly referencedBy?: readonly { readonly schema: string; readonly name: string }[];
}

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
