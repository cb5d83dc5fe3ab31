/**
 * Messages between the gateway's thread and the worker thread that owns the PGlite instance (see
 * PgliteWorkerClient). Types only: the worker imports this file with `import type`, so it stays a
 * file Node can run with nothing but @electric-sql/pglite beside it.
 */

export interface PgliteWorkerData {
  readonly dataDir: string;
}

export type RowMode = 'array' | 'object';

export type WorkerRequest =
  | {
      readonly op: 'query';
      readonly id: number;
      readonly sql: string;
      readonly params: readonly unknown[];
      readonly rowMode?: RowMode;
      /** Type OIDs the caller parses itself: the worker returns their values as PostgreSQL's text. */
      readonly rawTypes?: readonly number[];
      /** The transaction (its `begin` id) the query belongs to. */
      readonly tx?: number;
    }
  | {
      readonly op: 'exec';
      readonly id: number;
      readonly sql: string;
      readonly rowMode?: RowMode;
      readonly rawTypes?: readonly number[];
      readonly tx?: number;
    }
  /** Opens a transaction; answered with `began`, and with the transaction's outcome once it ends. */
  | { readonly op: 'begin'; readonly id: number }
  /** Ends the transaction `tx`: its callback returned (commit) or threw (abort: roll back). */
  | { readonly op: 'commit' | 'abort'; readonly tx: number }
  | { readonly op: 'rollback'; readonly id: number; readonly tx: number }
  | { readonly op: 'listen'; readonly id: number; readonly channel: string }
  | { readonly op: 'unlisten'; readonly id: number; readonly listenId: number }
  | { readonly op: 'close'; readonly id: number };

export interface WorkerResults {
  readonly rows: unknown[];
  readonly fields: readonly { readonly name: string; readonly dataTypeID: number }[];
  readonly affectedRows?: number;
  readonly command?: string;
  readonly rowCount?: number;
}

/** An error as it crosses the thread boundary: a PostgreSQL error keeps all its fields. */
export type SerializedError =
  | {
      readonly kind: 'database';
      readonly message: string;
      readonly length: number;
      readonly fields: Readonly<Record<string, string | undefined>>;
    }
  /** COMMIT rolled back an aborted transaction (PGlite's TransactionAbortedError). */
  | { readonly kind: 'transaction-aborted' }
  /** The transaction's callback threw on the caller's side; the worker rolled back. */
  | { readonly kind: 'aborted' }
  | { readonly kind: 'error'; readonly name: string; readonly message: string; readonly stack?: string };

export type WorkerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'open-failed'; readonly error: SerializedError }
  | { readonly type: 'result'; readonly id: number; readonly value?: unknown }
  | { readonly type: 'error'; readonly id: number; readonly error: SerializedError }
  | { readonly type: 'began'; readonly id: number }
  | { readonly type: 'notification'; readonly listenId: number; readonly payload: string };
