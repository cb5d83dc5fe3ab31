import type { LineageOfStatement, LineageSource } from '@tollgate/masking';

/**
 * A MySQL/MariaDB statement's lineage (the shared shape of @tollgate/masking), and the names it
 * binds in the session: what SQL PREPARE prepares and EXECUTE runs, the database USE selects.
 */
export interface StatementLineage extends LineageOfStatement {
  /** PREPARE name FROM 'text': the name, and the lineage of what EXECUTE will run. */
  readonly prepares?: string;
  readonly prepared?: StatementLineage;
  /** EXECUTE name: what it runs is the session's statement of that name. */
  readonly executes?: string;
  /** DEALLOCATE PREPARE name. */
  readonly deallocates?: string;
  /** USE db: unqualified tables of later statements are that database's. */
  readonly uses?: string;
  /** The statement changes the catalog (DDL): cached catalog facts are dropped. */
  readonly changesCatalog?: true;
}

/** A table or view as information_schema describes it. */
export interface RelationFacts {
  readonly schema: string;
  readonly name: string;
  readonly kind: 'table' | 'view';
  /** Columns in ordinal order; `generated` ones are computed from others (untraced). */
  readonly columns: readonly { readonly name: string; readonly generated?: boolean }[];
  /** A view's query (information_schema.VIEWS.VIEW_DEFINITION); absent when not shown to the user. */
  readonly definition?: string;
}

/**
 * What the analysis asks of the target's catalog. `undefined` means "not read yet": the analysis
 * reports what it is missing, the caller reads it and analyzes again. Names compare case-insensitively.
 */
export interface LineageCatalog {
  /** Tables and views named `name` in database `schema` (empty: none). */
  relations(name: string, schema: string): readonly RelationFacts[] | undefined;
  /** Whether a stored function of this name exists in some database (a user function). */
  userFunction(name: string): boolean | undefined;
}

export interface MissingCatalogFacts {
  readonly relations: readonly { readonly name: string; readonly schema: string }[];
  readonly functions: readonly string[];
}

export type LineageAnalysis =
  | { readonly statements: readonly StatementLineage[]; readonly missing?: MissingCatalogFacts }
  | { readonly unparsed: string };

export type { LineageSource };
