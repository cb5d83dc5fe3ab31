import type { SqlStatementFacts } from '@tollgate/policy';

/** The policy's facts, plus what the session itself must remember about a statement. */
export interface MysqlStatementFacts extends SqlStatementFacts {
  /** The statement may change sql_mode (and with it how the server reads backslashes). */
  readonly changesSqlMode?: true;
  /** SQL PREPARE: the name it prepares (its statements follow, nested in PREPARE). */
  readonly prepares?: string;
  /** A statement nested in a PREPARE: the name it was prepared under. */
  readonly preparedAs?: string;
  /** DEALLOCATE PREPARE: the name it frees. */
  readonly deallocates?: string;
}

export type SqlClassification =
  | { readonly ok: true; readonly statements: readonly MysqlStatementFacts[] }
  | {
      readonly ok: false;
      readonly error: string;
      /** The text may store values (see SqlCommandFacts.unparsedMayStore). */
      readonly mayStore?: true;
    };
