import { Injectable } from '@nestjs/common';
import { CloseCode } from '@tollgate/proto';
import { AgentRegistry } from './agent-registry';
import { SessionRecords } from './session-records';
import { TunnelLogger } from './tunnel-logger';

/** Where a client's cancel came from, as the audit record and the statement's result name it. */
export interface InterruptRequest {
  /** The session's event: `postgres listener 10.0.0.7:52144`. */
  readonly source: string;
  /** With the interrupted statement's result: `CancelRequest from 10.0.0.7:52144`. */
  readonly reason: string;
}

/**
 * A client's cancel for a session this replica relays: the agent serving it stops the statement
 * running at the target in its protocol's way (PostgreSQL: a CancelRequest with the backend's real
 * key) and records it with the statement's result; the session goes on. The cancel is recorded on
 * the session's chain (`session.cancel`). Resolves false when this replica does not relay the
 * session, or it is already ending.
 */
@Injectable()
export class InterruptSession {
  constructor(
    private readonly registry: AgentRegistry,
    private readonly records: SessionRecords,
    private readonly logger: TunnelLogger,
  ) {}

  run(sessionId: string, request: InterruptRequest): boolean {
    for (const agent of this.registry.all()) {
      const interrupt = agent.sessionInterrupts.get(sessionId);
      if (!interrupt) continue;
      if (!interrupt(request.reason)) return false;
      this.logger.log.info({ sessionId, source: request.source }, 'session cancel request');
      this.records.cancelled(sessionId, request.source);
      return true;
    }
    return false;
  }

  /**
   * Ends a session this replica relays as a kill does (MySQL's KILL CONNECTION from the session's
   * own owner): `reason` is the session's close reason. False when this replica does not relay it.
   */
  end(sessionId: string, reason: string): boolean {
    for (const agent of this.registry.all()) {
      const abort = agent.sessions.get(sessionId);
      if (!abort) continue;
      abort(reason, CloseCode.TERMINATED);
      return true;
    }
    return false;
  }
}
