/**
 * The worker thread that owns the embedded PGlite database (see PgliteWorkerClient), so the WASM
 * PostgreSQL runs on a thread of its own instead of blocking the gateway's event loop. It does what
 * it is told in the order it is told: every request goes straight to PGlite, whose own locks
 * serialize queries and keep an open transaction's queries alone on the connection exactly as in
 * process. Only @electric-sql/pglite and Node's own modules are imported (the rest as types), so
 * the file runs as built JavaScript and, under the test runner, as TypeScript with Node's type
 * stripping.
 */
import { messages, PGlite, TransactionAbortedError } from '@electric-sql/pglite';
import type { ParserOptions, Results, Transaction } from '@electric-sql/pglite';
import { parentPort, workerData } from 'node:worker_threads';
import type {
  PgliteWorkerData,
  SerializedError,
  WorkerReply,
  WorkerRequest,
  WorkerResults,
} from './pglite-worker-protocol';

interface OpenTransaction {
  readonly tx: Transaction;
  readonly finish: (commit: boolean) => void;
}

/** Thrown into PGlite's transaction callback when the caller's callback threw: PGlite rolls back. */
class CallerAborted extends Error {}

if (!parentPort) throw new Error('pglite-worker runs as a worker thread');
const port = parentPort;
const { dataDir } = workerData as PgliteWorkerData;

const post = (reply: WorkerReply): void => port.postMessage(reply);

function serializeError(error: unknown): SerializedError {
  if (error instanceof CallerAborted) return { kind: 'aborted' };
  if (error instanceof TransactionAbortedError) return { kind: 'transaction-aborted' };
  if (error instanceof messages.DatabaseError) {
    const fields: Record<string, string | undefined> = {};
    for (const [key, value] of Object.entries(error)) {
      if (typeof value === 'string' && key !== 'name' && key !== 'message' && key !== 'query') {
        fields[key] = value;
      }
    }
    return { kind: 'database', message: error.message, length: error.length, fields };
  }
  if (error instanceof Error) {
    return { kind: 'error', name: error.name, message: error.message, stack: error.stack };
  }
  return { kind: 'error', name: 'Error', message: String(error) };
}

const identity = (text: string): string => text;
const rawParsers = new Map<string, ParserOptions>();
/** Parsers that leave the listed types as text, for the caller to parse with its own. */
function parsersFor(rawTypes: readonly number[] | undefined): ParserOptions | undefined {
  if (!rawTypes || rawTypes.length === 0) return undefined;
  const key = rawTypes.join(',');
  let parsers = rawParsers.get(key);
  if (!parsers) {
    parsers = Object.fromEntries(rawTypes.map((oid) => [oid, identity]));
    rawParsers.set(key, parsers);
  }
  return parsers;
}

function plain(result: Results): WorkerResults {
  const { rows, fields, affectedRows, command, rowCount } = result;
  return { rows, fields, affectedRows, command, rowCount };
}

async function main(): Promise<void> {
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (error) {
    post({ type: 'open-failed', error: serializeError(error) });
    return;
  }
  const transactions = new Map<number, OpenTransaction>();
  const unlistens = new Map<number, () => Promise<void>>();
  let nextListenId = 1;

  const queryable = (tx: number | undefined): Pick<Transaction, 'query' | 'exec'> => {
    if (tx === undefined) return db;
    const open = transactions.get(tx);
    if (!open) throw new Error('Transaction is closed');
    return open.tx;
  };

  const answer = (id: number, work: () => Promise<unknown>): void => {
    // async: what `work` throws before its first await rejects too.
    const running = (async () => work())();
    running.then(
      (value) => post({ type: 'result', id, value }),
      (error: unknown) => post({ type: 'error', id, error: serializeError(error) }),
    );
  };

  const handle = (request: WorkerRequest): void => {
    switch (request.op) {
      case 'query': {
        const options = { rowMode: request.rowMode, parsers: parsersFor(request.rawTypes) };
        return answer(request.id, async () =>
          plain(await queryable(request.tx).query(request.sql, [...request.params], options)),
        );
      }
      case 'exec': {
        const options = { rowMode: request.rowMode, parsers: parsersFor(request.rawTypes) };
        return answer(request.id, async () =>
          (await queryable(request.tx).exec(request.sql, options)).map(plain),
        );
      }
      case 'begin':
        return answer(request.id, () =>
          db.transaction(
            (tx) =>
              new Promise<void>((resolve, reject) => {
                transactions.set(request.id, {
                  tx,
                  finish: (commit) => (commit ? resolve() : reject(new CallerAborted())),
                });
                post({ type: 'began', id: request.id });
              }),
          ),
        );
      case 'commit':
      case 'abort': {
        const open = transactions.get(request.tx);
        transactions.delete(request.tx);
        open?.finish(request.op === 'commit');
        return;
      }
      case 'rollback':
        return answer(request.id, async () => {
          const open = transactions.get(request.tx);
          if (!open) throw new Error('Transaction is closed');
          await open.tx.rollback();
        });
      case 'listen':
        return answer(request.id, async () => {
          const listenId = nextListenId++;
          const unlisten = await db.listen(request.channel, (payload) =>
            post({ type: 'notification', listenId, payload }),
          );
          unlistens.set(listenId, unlisten);
          return listenId;
        });
      case 'unlisten':
        return answer(request.id, async () => {
          const unlisten = unlistens.get(request.listenId);
          unlistens.delete(request.listenId);
          await unlisten?.();
        });
      case 'close':
        return answer(request.id, async () => {
          port.off('message', handle);
          // Transactions left open are rolled back, so close does not wait on them forever.
          for (const open of transactions.values()) open.finish(false);
          transactions.clear();
          await db.close();
          // Nothing else keeps the thread alive: it exits once this answer is out.
          port.unref();
        });
    }
  };
  port.on('message', handle);
  post({ type: 'ready' });
}

void main();
