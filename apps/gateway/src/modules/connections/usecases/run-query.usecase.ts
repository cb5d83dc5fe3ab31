import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { Protocol, type ClientDown, type ClientUp } from '@tollgate/proto';
import { runMysqlQuery } from '@tollgate/protocol-mysql';
import { frameStreamDuplex, runSimpleQuery, type StatementResult } from '@tollgate/protocol-postgres';
import type { FrameCodec } from '@tollgate/protocol-tcp';
import { ValidationError } from '../../../common/errors';
import type { Principal } from '../../identity/principal';
import { StoreService } from '../../store/store.service';
import { InProcessSessions } from '../../tunnel/in-process-sessions';
import { SessionNotOpenedError } from '../../tunnel/session-not-opened.error';
import { findConnectionOrThrow } from './find-connection';

export interface RunQueryInput {
  readonly sql: string;
  readonly maxRows: number;
}

/** One line of the query runner's response (application/x-ndjson), in the order they happen. */
export type QueryEvent =
  | { readonly type: 'session'; readonly sessionId: string; readonly agent: string }
  | { readonly type: 'notice'; readonly message: string }
  | ({ readonly type: 'result' } & StatementResult)
  | { readonly type: 'done'; readonly statements: number; readonly failed: number; readonly ms: number }
  | { readonly type: 'error'; readonly message: string };

/** The in-process session's frames, as the PostgreSQL client reads and writes them. */
export const inProcessCodec: FrameCodec<ClientDown, ClientUp> = {
  wrap: (frame) => ({ kind: { $case: 'frame', frame } }),
  unwrap: (message) => {
    switch (message.kind?.$case) {
      case 'frame':
        return { frame: message.kind.frame };
      case 'close':
        return { closeReason: message.kind.close.reason, closeCode: message.kind.close.code };
      default:
        return undefined;
    }
  },
};

/**
 * The console's query runner: runs SQL on a PostgreSQL connection as the caller, through the same
 * session pipeline as `tollgate exec` (decision for the `exec` verb, a session record, the agent's
 * engine with its guardrails, approvals, masking and command audit). The session opens before the
 * response starts, so a refusal is an ordinary problem response; after that the statements' results
 * stream as JSON lines, with NOTICEs (such as "held for review") as they arrive. Closing the request
 * ends the session.
 */
@Injectable()
export class RunQueryUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly sessions: InProcessSessions,
  ) {}

  async execute(
    ref: string,
    input: RunQueryInput,
    principal: Principal,
    source: string,
  ): Promise<{ events: Readable; cancel: () => void }> {
    const connection = await findConnectionOrThrow(this.store.prisma, ref);
    if (connection.protocol !== 'postgres' && connection.protocol !== 'mysql') {
      throw new ValidationError([
        {
          field: 'connection',
          message: `the query runner supports PostgreSQL and MySQL connections; "${connection.name}" is ${connection.protocol} (use \`tollgate connect\`)`,
        },
      ]);
    }
    const opened = await this.sessions.open(principal, {
      connectionName: connection.name,
      verb: 'exec',
      clientAddr: `console ${source}`,
    });
    if (opened.kind === 'failed') throw new SessionNotOpenedError(opened.code, opened.message);
    const expected = connection.protocol === 'mysql' ? Protocol.MYSQL : Protocol.POSTGRES;
    if (opened.protocol !== expected) {
      opened.call.destroy();
      throw new ValidationError([
        { field: 'connection', message: `the agent did not open a ${connection.protocol} session` },
      ]);
    }
    const { call } = opened;
    const events = new Readable({ objectMode: true, read: () => undefined });
    const emit = (event: QueryEvent) => events.push(`${JSON.stringify(event)}\n`);
    emit({ type: 'session', sessionId: opened.sessionId, agent: opened.agentName });
    const started = performance.now();
    const stream = frameStreamDuplex(call, inProcessCodec);
    let closeReason: string | undefined;
    call.on('data', (message: ClientDown) => {
      if (message.kind?.$case === 'close') closeReason = message.kind.close.reason;
    });
    // A statement held for review says so as it waits: PostgreSQL NOTICEs, MariaDB progress reports.
    const running: Promise<readonly StatementResult[]> =
      expected === Protocol.MYSQL
        ? runMysqlQuery(stream, input.sql, {
            maxRows: input.maxRows,
            onNotice: (message) => emit({ type: 'notice', message }),
          })
        : runSimpleQuery(stream, input.sql, {
            parameters: { user: 'tollgate', application_name: 'tollgate console' },
            maxRows: input.maxRows,
            onNotice: (message) => emit({ type: 'notice', message }),
          }).then((run) => run.results);
    running.then(
      (results) => {
        for (const result of results) emit({ type: 'result', ...result });
        emit({
          type: 'done',
          statements: results.length,
          failed: results.filter((r) => r.error).length,
          ms: Math.round(performance.now() - started),
        });
        events.push(null);
      },
      (error: unknown) => {
        stream.destroy();
        const message = closeReason ?? (error instanceof Error ? error.message : String(error));
        emit({ type: 'error', message: `the session ended: ${message}` });
        events.push(null);
      },
    );
    return { events, cancel: () => stream.destroy() };
  }
}
