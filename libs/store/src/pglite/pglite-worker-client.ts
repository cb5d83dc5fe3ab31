import { messages, TransactionAbortedError } from '@electric-sql/pglite';
import type { ParserOptions, QueryOptions, Results, Transaction } from '@electric-sql/pglite';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { StoreUnavailableError } from '../errors/store-unavailable.error';
import type {
  PgliteWorkerData,
  RowMode,
  SerializedError,
  WorkerReply,
  WorkerRequest,
  WorkerResults,
} from './pglite-worker-protocol';

/**
 * Built JavaScript next to this file; under the test runner, the TypeScript source, which Node runs
 * by stripping its types (as an ES module: the package declares no module type, hence the warning
 * that would say so on every open).
 */
function workerScript(): { file: string; execArgv?: string[] } {
  const built = join(__dirname, 'pglite-worker.js');
  if (existsSync(built)) return { file: built };
  return {
    file: join(__dirname, 'pglite-worker.ts'),
    execArgv: [...process.execArgv, '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON'],
  };
}

interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: Error) => void;
  readonly began?: () => void;
  /** For errors: what PGlite attaches to a failed query's error. */
  readonly sql?: string;
  readonly params?: readonly unknown[];
}

type Request = WorkerRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** What a query may be asked with across the thread boundary (no callbacks but parsers). */
type ClientQueryOptions = Pick<QueryOptions, 'rowMode' | 'parsers'>;

/** The part of PGlite's interface the store uses: Prisma's PGlite adapter, the SQL executor, LISTEN. */
export interface PgliteConnection {
  query<T>(sql: string, params?: unknown[], options?: ClientQueryOptions): Promise<Results<T>>;
  exec(sql: string, options?: ClientQueryOptions): Promise<Results[]>;
  transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T>;
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

/**
 * The embedded PGlite database in a worker thread of its own (pglite-worker.ts), behind PGlite's
 * own interface: queries, scripts, interactive transactions and LISTEN go to the worker in the
 * order they are made and PGlite serializes them there as it would in process, so a transaction's
 * queries run alone on the one connection and a callback that throws rolls it back. PostgreSQL
 * errors come back as PGlite's DatabaseError with every field; notifications come back before the
 * answer to the query that committed them. Parsers are functions and cannot cross: the worker
 * returns the values of the types a caller parses itself as text, and they are parsed here.
 *
 * Should the worker die, every call in flight and every later call rejects with
 * StoreUnavailableError, and `onStopped` listeners hear of it (the change feed goes down), as a
 * database that went away would fail on the PostgreSQL store.
 */
export class PgliteWorkerClient implements PgliteConnection {
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<number, (payload: string) => void>();
  private readonly stoppedListeners = new Set<(error: Error) => void>();
  private nextId = 1;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    private readonly describe: string,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: WorkerReply) => this.received(reply));
    worker.on('error', (error: Error) => this.stopped(`its worker failed: ${error.message}`));
    worker.on('exit', (code) => this.stopped(`its worker exited (code ${code})`));
    // The worker keeps the process alive only while an answer is awaited (see request() and settle()).
    worker.unref();
  }

  /** Starts the worker and opens the database in `dataDir` (creating it if new). */
  static async open(dataDir: string, describe: string): Promise<PgliteWorkerClient> {
    const workerData: PgliteWorkerData = { dataDir };
    const script = workerScript();
    const worker = new Worker(script.file, {
      workerData,
      ...(script.execArgv ? { execArgv: script.execArgv } : {}),
    });
    const opened = await new Promise<{ ok: true } | { ok: false; error: Error }>((resolve) => {
      const onMessage = (reply: WorkerReply) => {
        if (reply.type === 'ready') done({ ok: true });
        if (reply.type === 'open-failed') done({ ok: false, error: deserializeError(reply.error) });
      };
      const onError = (error: Error) => done({ ok: false, error });
      const onExit = (code: number) =>
        done({ ok: false, error: new Error(`the worker exited (code ${code})`) });
      const done = (outcome: { ok: true } | { ok: false; error: Error }) => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(outcome);
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
    });
    if (!opened.ok) {
      await worker.terminate();
      throw opened.error;
    }
    return new PgliteWorkerClient(worker, describe);
  }

  async query<T>(sql: string, params: unknown[] = [], options?: ClientQueryOptions): Promise<Results<T>> {
    return this.runQuery<T>(sql, params, options, undefined);
  }

  async exec(sql: string, options?: ClientQueryOptions): Promise<Results[]> {
    return this.runExec(sql, options, undefined);
  }

  /** As PGlite's: commits when the callback resolves, rolls back when it throws. */
  async transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> {
    let began!: () => void;
    const beganOrFailed = new Promise<void>((resolve) => (began = resolve));
    const { id, answer } = this.request({ op: 'begin' }, { began });
    // A BEGIN that fails answers without `began`.
    await Promise.race([beganOrFailed, answer]);
    let closed = false;
    const checkClosed = () => {
      if (closed) throw new Error('Transaction is closed');
    };
    const tx: Transaction = {
      query: async <R>(sql: string, params?: unknown[], options?: ClientQueryOptions) => {
        checkClosed();
        return this.runQuery<R>(sql, params ?? [], options, id);
      },
      sql: () => Promise.reject(new Error('tagged-template queries are not supported here')),
      exec: async (sql: string, options?: ClientQueryOptions) => {
        checkClosed();
        return this.runExec(sql, options, id);
      },
      rollback: async () => {
        checkClosed();
        await this.request({ op: 'rollback', tx: id }).answer;
        closed = true;
      },
      listen: () => Promise.reject(new Error('LISTEN inside a transaction is not supported here')),
      get closed() {
        return closed;
      },
    };
    let result: T;
    try {
      result = await callback(tx);
    } catch (error) {
      closed = true;
      this.send({ op: 'abort', tx: id });
      await answer.catch(() => undefined);
      throw error;
    }
    closed = true;
    this.send({ op: 'commit', tx: id });
    await answer;
    return result;
  }

  async listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>> {
    const listenId = (await this.request({ op: 'listen', channel }).answer) as number;
    this.listeners.set(listenId, callback);
    return async () => {
      this.listeners.delete(listenId);
      if (this.failure) return;
      await this.request({ op: 'unlisten', listenId }).answer;
    };
  }

  /** `listener` hears once that the worker stopped other than by close(). */
  onStopped(listener: (error: Error) => void): () => void {
    this.stoppedListeners.add(listener);
    return () => this.stoppedListeners.delete(listener);
  }

  /** Closes the database (waiting for what is in flight) and ends the worker. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.failure) {
        const { answer } = this.request({ op: 'close' });
        this.failure = new StoreUnavailableError(this.describe, 'the store is closed');
        try {
          await answer;
        } catch {
          // A worker that stopped while closing has nothing left to close.
        }
      }
      const exitTimer = setTimeout(() => void this.worker.terminate(), 10_000);
      await this.exited;
      clearTimeout(exitTimer);
    })();
    return this.closing;
  }

  private async runQuery<T>(
    sql: string,
    params: readonly unknown[],
    options: ClientQueryOptions | undefined,
    tx: number | undefined,
  ): Promise<Results<T>> {
    const rawTypes = rawTypesOf(options?.parsers);
    const result = (await this.request(
      { op: 'query', sql, params, rowMode: options?.rowMode, rawTypes, tx },
      { sql, params },
    ).answer) as WorkerResults;
    return parseRaw(result, options, rawTypes) as Results<T>;
  }

  private async runExec(
    sql: string,
    options: ClientQueryOptions | undefined,
    tx: number | undefined,
  ): Promise<Results[]> {
    const rawTypes = rawTypesOf(options?.parsers);
    const results = (await this.request({ op: 'exec', sql, rowMode: options?.rowMode, rawTypes, tx }, { sql })
      .answer) as WorkerResults[];
    return results.map((result) => parseRaw(result, options, rawTypes));
  }

  private request(
    request: Request,
    extra: Omit<Pending, 'resolve' | 'reject'> = {},
  ): { id: number; answer: Promise<unknown> } {
    const id = this.nextId++;
    const answer = new Promise<unknown>((resolve, reject) => {
      if (this.failure) {
        reject(this.failure);
        return;
      }
      this.pending.set(id, { resolve, reject, ...extra });
      if (this.pending.size === 1) this.worker.ref();
      this.send({ ...request, id });
    });
    return { id, answer };
  }

  private send(request: WorkerRequest): void {
    if (!this.failure) this.worker.postMessage(request);
  }

  private received(reply: WorkerReply): void {
    switch (reply.type) {
      case 'notification':
        this.listeners.get(reply.listenId)?.(reply.payload);
        return;
      case 'began':
        this.pending.get(reply.id)?.began?.();
        return;
      case 'result':
      case 'error': {
        const pending = this.pending.get(reply.id);
        if (!pending) return;
        this.settle(reply.id);
        if (reply.type === 'result') pending.resolve(reply.value);
        else pending.reject(deserializeError(reply.error, pending.sql, pending.params));
        return;
      }
      default:
        return;
    }
  }

  private settle(id: number): void {
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
  }

  private stopped(reason: string): void {
    const expected = this.closing !== undefined;
    if (!this.failure)
      this.failure = new StoreUnavailableError(this.describe, `the embedded database stopped: ${reason}`);
    const failure = this.failure;
    for (const [id, pending] of this.pending) {
      this.settle(id);
      pending.reject(failure);
    }
    if (expected) return;
    const listeners = [...this.stoppedListeners];
    this.stoppedListeners.clear();
    for (const listener of listeners) listener(failure);
  }
}

function rawTypesOf(parsers: ParserOptions | undefined): number[] | undefined {
  if (!parsers) return undefined;
  const oids = Object.keys(parsers).map(Number);
  return oids.length > 0 ? oids : undefined;
}

/** Parses here, with the caller's parsers, the values the worker left as text. */
function parseRaw(
  result: WorkerResults,
  options: ClientQueryOptions | undefined,
  rawTypes: readonly number[] | undefined,
): Results {
  const out = { ...result, fields: [...result.fields], rows: result.rows } as Results;
  const parsers = options?.parsers;
  if (!parsers || !rawTypes || result.rows.length === 0) return out;
  const rowMode: RowMode = options.rowMode ?? 'object';
  const columns = result.fields.flatMap((field, i) => {
    const parser = parsers[field.dataTypeID];
    // A row object keeps the last of columns sharing a name.
    const shadowed = rowMode === 'object' && result.fields.findLastIndex((f) => f.name === field.name) !== i;
    return parser !== undefined && !shadowed ? [{ i, name: field.name, type: field.dataTypeID, parser }] : [];
  });
  if (columns.length === 0) return out;
  for (const row of result.rows) {
    for (const column of columns) {
      if (rowMode === 'array') {
        const values = row as unknown[];
        const value = values[column.i];
        if (value !== null && value !== undefined)
          values[column.i] = callParser(column.parser, value, column.type);
      } else {
        const values = row as Record<string, unknown>;
        const value = values[column.name];
        if (value !== null && value !== undefined)
          values[column.name] = callParser(column.parser, value, column.type);
      }
    }
  }
  return out;
}

function callParser(parser: ParserOptions[number], value: unknown, type: number): unknown {
  // PGlite calls a parser with the text and the type OID.
  return (parser as (text: string, type: number) => unknown)(value as string, type);
}

function deserializeError(error: SerializedError, sql?: string, params?: readonly unknown[]): Error {
  switch (error.kind) {
    case 'database': {
      const result = new messages.DatabaseError(error.message, error.length, 'error');
      Object.assign(result, error.fields);
      // As PGlite's makePGliteError.
      Object.assign(result, { query: sql, params });
      return result;
    }
    case 'transaction-aborted':
      return Object.assign(new TransactionAbortedError(), { query: 'COMMIT' });
    case 'aborted':
      return new Error('the transaction was rolled back');
    case 'error': {
      const result = new Error(error.message);
      result.name = error.name;
      return result;
    }
  }
}
