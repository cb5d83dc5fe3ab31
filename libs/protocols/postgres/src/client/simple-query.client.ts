import type { Duplex } from 'node:stream';
import { endedByPeer } from '@tollgate/protocol-tcp';
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
  /** Set when rows beyond `maxRows` were dropped (the tag still counts them all). */
  readonly truncated?: boolean;
}

export interface QueryRun {
  readonly results: readonly StatementResult[];
  readonly notices: readonly string[];
}

export interface SimpleQueryOptions {
  /** Start-up parameters (user, application_name, ...). */
  readonly parameters?: Record<string, string>;
  /** Told of each NOTICE as it arrives (e.g. a statement held for review), besides `notices`. */
  readonly onNotice?: (message: string) => void;
  /** Keep at most this many rows per statement; the rest are read and dropped (`truncated`). */
  readonly maxRows?: number;
}

const DEFAULT_PARAMETERS = { user: 'tollgate', application_name: 'tollgate exec' };

/**
 * A minimal PostgreSQL client over any byte stream: start-up, then one simple Query (which may hold
 * several statements), results as text. `tollgate exec` and the console's query runner run it over
 * the tunnel, so their statements take the same path, policy and audit as psql's.
 */
export async function runSimpleQuery(
  stream: Duplex,
  sql: string,
  options: SimpleQueryOptions = {},
): Promise<QueryRun> {
  const reader = backendReader(stream);
  const notices: string[] = [];
  const notice = (message: string) => {
    notices.push(message);
    options.onNotice?.(message);
  };
  const results: StatementResult[] = [];
  const maxRows = options.maxRows ?? Infinity;
  try {
    await startUp(stream, reader, options.parameters ?? DEFAULT_PARAMETERS);
    stream.write(serializeFrontendMessage({ name: 'query', text: sql }));
    let columns: string[] = [];
    let rows: (string | null)[][] = [];
    let truncated = false;
    let done = false;
    while (!done) {
      const { message } = await reader.next();
      switch (message.name) {
        case 'rowDescription':
          columns = message.fields.map((f) => f.name);
          rows = [];
          truncated = false;
          break;
        case 'dataRow':
          if (rows.length < maxRows)
            rows.push(message.values.map((v) => (v === null ? null : v.toString('utf8'))));
          else truncated = true;
          break;
        case 'commandComplete':
          results.push({ columns, rows, tag: message.tag, ...(truncated ? { truncated } : {}) });
          columns = [];
          rows = [];
          truncated = false;
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
          notice(message.fields['M'] ?? '');
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

/**
 * Logs in and out again without running anything: proves the whole path, the target's address and
 * the connection's credential. Resolves with the server's version; a refused login rejects with
 * QueryError carrying the server's message.
 */
export async function checkPostgresLogin(
  stream: Duplex,
  parameters: Record<string, string> = DEFAULT_PARAMETERS,
): Promise<{ serverVersion: string | undefined }> {
  const reader = backendReader(stream);
  let status: Record<string, string>;
  try {
    status = await startUp(stream, reader, parameters);
    stream.write(serializeFrontendMessage({ name: 'terminate' }));
  } finally {
    reader.detach();
  }
  await endedByPeer(stream, TERMINATE_WAIT_MS);
  stream.end();
  return { serverVersion: status['server_version'] };
}

function backendReader(stream: Duplex): SocketReader<BackendMessage> {
  const parser = new BackendMessageParser();
  return new SocketReader<BackendMessage>(stream, (chunk, emit) => parser.parse(chunk, emit), 'the server');
}

/** Sends the start-up packet and reads up to ReadyForQuery; resolves with the ParameterStatus values. */
async function startUp(
  stream: Duplex,
  reader: SocketReader<BackendMessage>,
  parameters: Record<string, string>,
): Promise<Record<string, string>> {
  const status: Record<string, string> = {};
  stream.write(
    serializeStartupPacket({ name: 'startupMessage', protocolVersion: PROTOCOL_VERSION_3, parameters }),
  );
  for (;;) {
    const { message } = await reader.next();
    if (message.name === 'errorResponse') throw new QueryError(describe(message.fields));
    if (message.name === 'parameterStatus') status[message.parameter] = message.value;
    if (message.name === 'readyForQuery') return status;
  }
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
