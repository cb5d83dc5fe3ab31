import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { status as GrpcStatus } from '@grpc/grpc-js';
import { EXEC_PROTOCOLS } from '@tollgate/policy';
import {
  CloseCode,
  OpenFailureCode,
  Protocol,
  sessionVerbCode,
  sessionVerbName,
  type OpenRequest,
  type SessionUp,
} from '@tollgate/proto';
import type { AccessDecider } from '../identity/access-decider';
import type { Principal } from '../identity/principal';
import { AgentRegistry } from './agent-registry';
import { ConnectionDirectory } from './connection-directory';
import { firstMessage } from './first-message';
import { PendingSessions, type AgentSessionCall } from './pending-sessions';
import { SessionCommands } from './session-commands';
import { SessionRecords, type NewSession } from './session-records';
import { relaySession, type ClientCall } from './session-relay';
import { TunnelLogger } from './tunnel-logger';

const PROTOCOL_CODES: Record<NewSession['protocol'], Protocol> = {
  postgres: Protocol.POSTGRES,
  mysql: Protocol.MYSQL,
  ssh: Protocol.SSH,
  kubernetes: Protocol.KUBERNETES,
  http: Protocol.HTTP,
  tcp: Protocol.TCP,
};

/** How long an agent has to attach to an offered session, and then to reach the target. */
const ATTACH_TIMEOUT_MS = 10_000;
const TARGET_RESULT_TIMEOUT_MS = 30_000;

/**
 * Opens sessions: finds the connection, asks the access decider, offers the session to an online
 * agent serving the connection (least busy first; a refusing agent is skipped), waits for the
 * agent's Session stream and its TargetResult, then relays frames until both sides are done.
 */
@Injectable()
export class SessionBroker {
  constructor(
    private readonly connections: ConnectionDirectory,
    private readonly registry: AgentRegistry,
    private readonly pending: PendingSessions,
    private readonly records: SessionRecords,
    private readonly commands: SessionCommands,
    private readonly logger: TunnelLogger,
  ) {}

  async serve(
    principal: Principal,
    request: OpenRequest,
    client: ClientCall,
    decider: AccessDecider,
    /** A caller that speaks one protocol (a gateway listener) reaches only connections of it. */
    speaks?: NewSession['protocol'],
    /** MySQL on a gateway listener: the connection id the client was already greeted with. */
    clientConnectionId = 0,
  ): Promise<void> {
    const started = performance.now();
    const connection = await this.connections.find(request.connectionName);
    if (!connection) {
      return fail(client, OpenFailureCode.NOT_FOUND, `no connection named "${request.connectionName}"`);
    }
    const tags = connection.tags;
    const protocol = PROTOCOL_CODES[connection.protocol];
    if (speaks && connection.protocol !== speaks) {
      return fail(
        client,
        OpenFailureCode.NOT_FOUND,
        `"${connection.name}" is a ${connection.protocol} connection, not ${speaks}`,
        PROTOCOL_CODES[speaks],
      );
    }
    const verb = sessionVerbName(request.verb);
    if (!verb) {
      return fail(client, OpenFailureCode.DENIED, 'the open request names an unknown verb', protocol);
    }
    if (verb === 'exec' && !EXEC_PROTOCOLS.includes(connection.protocol)) {
      return fail(
        client,
        OpenFailureCode.DENIED,
        `exec runs commands on ${EXEC_PROTOCOLS.join(', ')} connections; "${connection.name}" is ${connection.protocol}: use \`tollgate connect\``,
        protocol,
      );
    }
    const looked = performance.now();
    // The session is authorized as the verb it is for; the agent's engine then holds it to that verb.
    // The decision's record is written with the session (one transaction) when it opens one.
    const assessed = await decider.assess({
      principal,
      verb,
      connection: { name: connection.name, protocol: connection.protocol, tags },
      source: client.getPeer(),
    });
    const { decision } = assessed;
    if (!decision.allowed) {
      const recorded = await this.records.decided(assessed.record);
      return fail(
        client,
        OpenFailureCode.DENIED,
        recorded ? decision.reason : 'the decision could not be recorded in the audit log, so it is denied',
        protocol,
      );
    }

    const candidates = this.registry.onlineAmong(connection.agentIds);
    if (candidates.length === 0) {
      await this.records.decided(assessed.record);
      return fail(
        client,
        OpenFailureCode.AGENT_OFFLINE,
        `no agent serving "${connection.name}" is online`,
        protocol,
      );
    }
    const sessionId = randomUUID();
    const log = this.logger.log.child({ sessionId, connection: connection.name, subject: principal.subject });
    const decided = performance.now();
    // The row and the durable session.open event come first: a session the audit log cannot
    // record never reaches its target (fail closed).
    const recorded = this.records.opening(
      {
        id: sessionId,
        connectionId: connection.id,
        connectionName: connection.name,
        protocol: connection.protocol,
        verb,
        principal,
        clientAddr: client.getPeer(),
        policyVersion: decision.policyVersion,
        ...(decision.session ? { limits: decision.session } : {}),
      },
      assessed.record,
    );
    try {
      await recorded;
    } catch (error) {
      this.records.closed(sessionId, 'the session could not be recorded');
      log.error({ err: error }, 'session refused: the audit store could not record it');
      return fail(
        client,
        OpenFailureCode.INTERNAL,
        'the session could not be recorded in the audit log, so it is refused',
        protocol,
      );
    }

    const refusals: string[] = [];
    for (const agent of candidates) {
      const offered = this.pending.wait(sessionId, agent.agentId, ATTACH_TIMEOUT_MS);
      agent.send({
        kind: {
          $case: 'openSession',
          openSession: {
            sessionId,
            connectionName: connection.name,
            context: {
              subject: principal.subject,
              groups: [...principal.groups],
              scopes: [...principal.scopes],
              actors: principal.actorChain.map((actor) => ({ subject: actor.subject, issuer: '' })),
              policyVersion: decision.policyVersion ?? 0,
              clientAddr: request.clientAddr || client.getPeer(),
              protocol: PROTOCOL_CODES[connection.protocol],
              verb: sessionVerbCode(verb),
              clientConnectionId,
              // A read-only grant is known here only: the agent must not re-derive it from roles.
              readOnly: decision.session?.readOnly ?? false,
            },
          },
        },
      });
      const outcome = await offered;
      if (outcome.kind === 'refused') {
        log.info({ agent: agent.name, reason: outcome.message }, 'agent did not take the session');
        refusals.push(`${agent.name}: ${outcome.message}`);
        continue;
      }
      const agentCall = outcome.call;
      const result = await targetResult(agentCall);
      if (client.cancelled || client.destroyed) {
        // The caller went away while the agent dialed: nothing to relay.
        if (!agentCall.writableEnded) agentCall.end();
        this.records.closed(sessionId, 'client disconnected before the session opened');
        log.info({ agent: agent.name }, 'client left before the session opened');
        return;
      }
      if (result.kind === 'unreachable') {
        agentCall.end();
        this.records.closed(sessionId, `target unreachable: ${result.message}`);
        log.info({ agent: agent.name, reason: result.message }, 'target unreachable');
        return fail(client, OpenFailureCode.TARGET_UNREACHABLE, result.message, protocol);
      }
      this.records.opened(sessionId, agent.agentId);
      client.write({
        kind: {
          $case: 'openResult',
          openResult: {
            result: {
              $case: 'opened',
              opened: { sessionId, protocol: PROTOCOL_CODES[connection.protocol], agentName: agent.name },
            },
          },
        },
      });
      const opened = performance.now();
      log.info(
        {
          agent: agent.name,
          ms: {
            lookup: Math.round(looked - started),
            decide: Math.round(decided - looked),
            agent: Math.round(opened - decided),
          },
        },
        'session open',
      );
      const relay = relaySession(client, agentCall, (message) => {
        if (message.kind?.$case === 'journalPosition')
          this.records.journaled(sessionId, message.kind.journalPosition);
        else this.commands.handle(this.records.context(sessionId), message, agentCall);
      });
      agent.sessions.set(sessionId, (reason, code = CloseCode.AGENT_DISCONNECTED) =>
        relay.abort(reason, code),
      );
      agent.sessionInterrupts.set(sessionId, (reason) => relay.interrupt(reason));
      agent.sessionTokens.set(sessionId, {
        tokenId: principal.tokenId,
        subjects: [principal.subject, ...principal.actorChain.map((actor) => actor.subject)],
      });
      // The session ends by itself at its maximum duration (for a just-in-time grant: its expiry).
      const limit = decision.session
        ? setTimeout(
            () =>
              relay.abort(
                'the session reached its maximum duration (or its access grant expired)',
                CloseCode.CREDENTIAL_EXPIRED,
              ),
            // setTimeout's limit is 2^31-1 ms (24.8 days); a longer session is not cut early.
            Math.min(decision.session.maxDurationSeconds * 1000, 2 ** 31 - 1),
          )
        : undefined;
      const reason = await relay.done;
      this.commands.ended(sessionId);
      clearTimeout(limit);
      agent.sessions.delete(sessionId);
      agent.sessionInterrupts.delete(sessionId);
      agent.sessionTokens.delete(sessionId);
      this.records.closed(sessionId, reason);
      log.info({ agent: agent.name, reason }, 'session closed');
      return;
    }
    this.records.closed(sessionId, `no agent took the session (${refusals.join('; ')})`);
    return fail(
      client,
      OpenFailureCode.AGENT_OFFLINE,
      `no agent serving "${connection.name}" could take the session (${refusals.join('; ')})`,
      protocol,
    );
  }
}

type TargetOutcome = { kind: 'opened' } | { kind: 'unreachable'; message: string };

async function targetResult(call: AgentSessionCall): Promise<TargetOutcome> {
  let message: SessionUp;
  try {
    message = await firstMessage<SessionUp>(call, TARGET_RESULT_TIMEOUT_MS, 'TargetResult');
  } catch (error) {
    return { kind: 'unreachable', message: error instanceof Error ? error.message : 'agent stream failed' };
  }
  if (message.kind?.$case !== 'targetResult') {
    call.emit('error', {
      code: GrpcStatus.INVALID_ARGUMENT,
      details: 'the second message must be TargetResult',
    });
    return { kind: 'unreachable', message: 'the agent broke the session protocol' };
  }
  const result = message.kind.targetResult.result;
  if (result?.$case === 'opened') return { kind: 'opened' };
  return {
    kind: 'unreachable',
    message:
      result?.$case === 'targetUnreachable' ? result.targetUnreachable.message : 'unknown target result',
  };
}

function fail(
  client: ClientCall,
  code: OpenFailureCode,
  message: string,
  protocol: Protocol = Protocol.UNSPECIFIED,
): void {
  if (client.writableEnded) return;
  client.write({
    kind: {
      $case: 'openResult',
      openResult: { result: { $case: 'failed', failed: { code, message, protocol } } },
    },
  });
  client.end();
}
