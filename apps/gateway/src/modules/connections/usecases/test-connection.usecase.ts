import { Injectable } from '@nestjs/common';
import { Protocol } from '@tollgate/proto';
import { checkPostgresLogin, frameStreamDuplex } from '@tollgate/protocol-postgres';
import type { Principal } from '../../identity/principal';
import { StoreService } from '../../store/store.service';
import { InProcessSessions } from '../../tunnel/in-process-sessions';
import { SessionNotOpenedError } from '../../tunnel/session-not-opened.error';
import { findConnectionOrThrow } from './find-connection';
import { inProcessCodec } from './run-query.usecase';

export interface ConnectionTestView {
  readonly connection: string;
  /** True when a session reached the target (and, for PostgreSQL, logged in with the credential). */
  readonly reachable: boolean;
  /** Where it stopped: opened, or the reason `tollgate connect` would give (denied, agent offline, ...). */
  readonly outcome: string;
  readonly message: string;
  readonly agent: string | null;
  readonly sessionId: string | null;
  readonly serverVersion: string | null;
  readonly ms: number;
}

/**
 * Tests a connection the way a user would reach it: opens a session as the caller (`connect`),
 * through the broker, an online agent and its engine, to the target; for PostgreSQL it also logs
 * in with the connection's credential and out again. Nothing runs on the target. The session is
 * recorded and audited like any other. A failed test is a result (200), not an error.
 */
@Injectable()
export class TestConnectionUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly sessions: InProcessSessions,
  ) {}

  async execute(ref: string, principal: Principal, source: string): Promise<ConnectionTestView> {
    const connection = await findConnectionOrThrow(this.store.prisma, ref);
    const started = performance.now();
    const result = (fields: Omit<ConnectionTestView, 'connection' | 'ms'>): ConnectionTestView => ({
      connection: connection.name,
      ...fields,
      ms: Math.round(performance.now() - started),
    });
    const opened = await this.sessions.open(principal, {
      connectionName: connection.name,
      verb: 'connect',
      clientAddr: `console test ${source}`,
    });
    if (opened.kind === 'failed') {
      return result({
        reachable: false,
        outcome: SessionNotOpenedError.reasonOf(opened.code),
        message: opened.message,
        agent: null,
        sessionId: null,
        serverVersion: null,
      });
    }
    const base = { agent: opened.agentName, sessionId: opened.sessionId };
    if (opened.protocol !== Protocol.POSTGRES) {
      opened.call.end();
      return result({
        ...base,
        reachable: true,
        outcome: 'opened',
        message: `agent ${opened.agentName} reached the target`,
        serverVersion: null,
      });
    }
    const stream = frameStreamDuplex(opened.call, inProcessCodec);
    try {
      const { serverVersion } = await checkPostgresLogin(stream, {
        user: 'tollgate',
        application_name: 'tollgate console test',
      });
      return result({
        ...base,
        reachable: true,
        outcome: 'opened',
        message: `agent ${opened.agentName} logged in to the target${serverVersion ? ` (PostgreSQL ${serverVersion})` : ''}`,
        serverVersion: serverVersion ?? null,
      });
    } catch (error) {
      stream.destroy();
      return result({
        ...base,
        reachable: false,
        outcome: 'login failed',
        message: error instanceof Error ? error.message : String(error),
        serverVersion: null,
      });
    }
  }
}
