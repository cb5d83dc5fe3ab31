import type { SqlClassification } from '../sql/statement-facts';

export type { SqlClassification };

/** A command the client wants to run, with what the MySQL classifier made of it. */
export interface SqlCommand {
  readonly text: string;
  /**
   * How it arrived: COM_QUERY, COM_STMT_PREPARE, COM_STMT_EXECUTE of a prepared statement (decided
   * again each time, under the policy of that moment), COM_INIT_DB (as `USE`), COM_FIELD_LIST
   * (as `SHOW COLUMNS`) or COM_STATISTICS (as `SHOW STATUS`).
   */
  readonly via:
    'query' | 'prepare' | 'execute' | 'init-db' | 'field-list' | 'statistics' | 'reset-connection';
  readonly classification: SqlClassification;
}

export type GateVerdict = { readonly allow: true } | { readonly allow: false; readonly message: string };

/**
 * Where policy meets the protocol: decides a command and records the decision durably before
 * answering (the command is forwarded only after `decide` resolves with allow). `notify` (a held
 * command's message) reaches a client that reads MariaDB's progress reports as one.
 */
export interface CommandGate {
  decide(command: SqlCommand, notify: (message: string) => void): Promise<GateVerdict>;
}

/** What happened to a forwarded command, for the session's audit trail. */
export interface StatementOutcome {
  readonly text: string;
  readonly rows: number;
  readonly bytes: number;
  readonly durationMs: number;
  readonly error?: string;
  /** Why values were masked (detector names, `column:table.column`), if any were. */
  readonly masked: readonly string[];
}
