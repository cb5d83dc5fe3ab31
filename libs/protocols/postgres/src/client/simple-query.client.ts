import type { Duplex } from 'node:stream';
import { BackendMessageParser } from '../backend-message.parser';
import type { BackendMessage, NoticeFields } from '../backend-messages';
import { serializeFrontendMessage, serializeStartupPacket } from '../frontend-message.serializer';
import { PROTOCOL_VERSION_3 } from '../message-codes';
import { SocketReader } from '../proxy/socket-reader';

/** One statement's outcome: its columns and rows (as text), or the server's error. */
export interface StatementResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
  /** The CommandComplete tag (`SELECT 2`, `INSERT 0 1`); empty on error. */
  readonly tag: string;
  readonly error?: { readonly code: string; readonly message: string; readonly detail?: string };
}

export interface QueryRun {
  readonly results: readonly StatementResult[];
  readonly notices: readonly string[];
}

/**
 * A minimal PostgreSQL client over any byte stream: start-up, then one simple Query (which may hold
 * several statements), results as text. `tollgate exec` runs it over the tunnel, so its statements
 * take the same path, policy and audit as psql's.
 */
export async function runSimpleQuery(
  stream: Duplex,
  sql: string,
  parameters: Record<string, string> = { user: 'tollgate', application_name: 'tollgate exec' },
): Promise<QueryRun> {
  const parser = new BackendMessageParser();
  const reader = new SocketReader<BackendMessage>(
    stream,
    (chunk, emit) => parser.parse(chunk, emit),
    'the server',
  );
  const notices: string[] = [];
  const results: StatementResult[] = [];
  stream.write(
    serializeStartupPacket({ name: 'startupMessage', protocolVersion: PROTOCOL_VERSION_3, parameters }),
  );
  try {
    for (;;) {
      const { message } = await reader.next();
      if (message.name === 'errorResponse') throw new QueryError(describe(message.fields));
      if (message.name === 'readyForQuery') break;
    }
    stream.write(serializeFrontendMessage({ name: 'query', text: sql }));
    let columns: string[] = [];
    let rows: (string | null)[][] = [];
    let done = false;
    while (!done) {
      const { message } = await reader.next();
      switch (message.name) {
        case 'rowDescription':
          columns = message.fields.map((f) => f.name);
          rows = [];
          break;
        case 'dataRow':
          rows.push(message.values.map((v) => (v === null ? null : v.toString('utf8'))));
          break;
        case 'commandComplete':
          results.push({ columns, rows, tag: message.tag });
          columns = [];
          rows = [];
          break;
        case 'emptyQueryResponse':
          break;
        case 'errorResponse':
          results.push({
            columns: [],
            rows: [],
            tag: '',
            error: {
              code: message.fields['C'] ?? 'XX000',
              message: message.fields['M'] ?? 'error',
              ...(message.fields['D'] ? { detail: message.fields['D'] } : {}),
            },
          });
          break;
        case 'noticeResponse':
          notices.push(message.fields['M'] ?? '');
          break;
        case 'copyInResponse':
          // No data to send: end the COPY so the server can answer.
          stream.write(
            serializeFrontendMessage({ name: 'copyFail', message: 'tollgate exec does not send COPY data' }),
          );
          break;
        case 'readyForQuery':
          stream.write(serializeFrontendMessage({ name: 'terminate' }));
          done = true;
          break;
        default:
          break;
      }
    }
  } finally {
    reader.detach();
  }
  // The server ends the session after Terminate. Ending our side first would cut a tunnelled
  // session short (recorded as lost instead of ended normally), so wait for it, within bounds.
  await endedByPeer(stream, TERMINATE_WAIT_MS);
  stream.end();
  return { results, notices };
}

const TERMINATE_WAIT_MS = 5_000;

function endedByPeer(stream: Duplex, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    if (stream.readableEnded || stream.destroyed) return resolve();
    const done = () => {
      clearTimeout(timer);
      stream.off('end', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', done);
    // Anything the server still sends is not ours to read; let it flow so `end` can arrive.
    stream.on('data', () => undefined);
    stream.resume();
  });
}

/** The server refused the session itself (FATAL during start-up). */
export class QueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryError';
  }
}

function describe(fields: NoticeFields): string {
  return `${fields['S'] ?? 'ERROR'}: ${fields['M'] ?? 'error'}${fields['C'] ? ` (SQLSTATE ${fields['C']})` : ''}`;
}
