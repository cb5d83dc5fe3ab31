import type { SqlClassification } from '../sql-classifier';

/** A command the client wants to run, classified by the real PostgreSQL parser. */
export interface SqlCommand {
  readonly text: string;
  /**
   * How it arrived: a simple Query message, an extended-protocol Parse, the Execute of a portal
   * bound from a statement whose Parse decision was already used (a prepared statement run again),
   * a fast-path FunctionCall, or the settings of the client's start-up packet.
   */
  readonly via: 'query' | 'parse' | 'execute' | 'function-call' | 'startup';
  readonly classification: SqlClassification;
}

export type GateVerdict = { readonly allow: true } | { readonly allow: false; readonly message: string };

/**
 * Where policy meets the protocol: decides a command and records the decision durably before
 * answering (the command is forwarded only after `decide` resolves with allow). `notify` sends the
 * client a NOTICE while it waits, e.g. for an approval.
 */
export interface CommandGate {
  decide(command: SqlCommand, notify: (message: string) => void): Promise<GateVerdict>;
}

/** What happened to a forwarded statement, for the session's audit trail. */
export interface StatementOutcome {
  readonly text: string;
  readonly rows: number;
  readonly bytes: number;
  readonly durationMs: number;
  readonly error?: string;
  /** Why values were masked (detector names, `column:table.column`), if any were. */
  readonly masked: readonly string[];
}
