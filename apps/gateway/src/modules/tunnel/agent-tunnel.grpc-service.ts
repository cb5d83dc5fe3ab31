import { Injectable } from '@nestjs/common';
import { status as GrpcStatus, type handleBidiStreamingCall, type ServerDuplexStream } from '@grpc/grpc-js';
import {
  ControlErrorCode,
  type AgentMessage,
  type JournalDown,
  type JournalUp,
  type AgentTunnelServer,
  type Register,
  type RelayedFrame,
  type SessionDown,
  type SessionUp,
} from '@tollgate/proto';
import { AgentAdmission } from './agent-admission';
import { AgentAuditTrail } from './agent-audit';
import { AgentAuthenticator } from './agent-authenticator';
import { AgentJournalIntake } from './agent-journal-intake';
import { JournalProgress } from './journal-progress';
import { instanceIdOf, isInstanceKey, type AgentInstanceInfo } from './agent-instance';
import { bearerToken, hashAgentToken } from './agent-token';
import { AgentPresence } from './agent-presence';
import { AgentRegistry } from './agent-registry';
import { BundleBuilder } from './bundle-builder';
import { failCall, firstMessage } from './first-message';
import { LiveAgent, type ControlCall } from './live-agent';
import { PendingSessions, type AgentSessionCall } from './pending-sessions';
import { RpcError } from './rpc-error';
import { TunnelLogger } from './tunnel-logger';
import { StoreService } from '../store/store.service';

export const HEARTBEAT_INTERVAL_MS = 5_000;
/**
 * How long a refused second instance waits before trying again: one heartbeat, so it gets in
 * soon after the holder's stream is gone, while its refusals stay a few a minute.
 */
const CONFLICT_RETRY_AFTER_MS = HEARTBEAT_INTERVAL_MS;
/** Messages an agent must send before it counts as gone (keepalive catches dead TCP sooner). */
const MISSED_HEARTBEATS = 3;

/**
 * The AgentTunnel gRPC service: one Control stream per agent (registration, heartbeats, bundles,
 * session requests) and one Session stream per session on the same HTTP/2 connection.
 */
@Injectable()
export class AgentTunnelGrpcService {
  constructor(
    private readonly authenticator: AgentAuthenticator,
    private readonly admission: AgentAdmission,
    private readonly trail: AgentAuditTrail,
    private readonly registry: AgentRegistry,
    private readonly presence: AgentPresence,
    private readonly bundles: BundleBuilder,
    private readonly pending: PendingSessions,
    private readonly store: StoreService,
    private readonly logger: TunnelLogger,
    private readonly journals: AgentJournalIntake,
    private readonly progress: JournalProgress,
  ) {}

  /** Served with AgentTunnelRelayWire: Session data frames arrive and leave as RelayedFrame. */
  handlers(): Pick<AgentTunnelServer, 'control' | 'journal'> & {
    session: handleBidiStreamingCall<SessionUp | RelayedFrame, SessionDown | RelayedFrame>;
  } {
    return {
      control: (call) => {
        this.control(call).catch((error: unknown) => this.failed(call, error, 'control'));
      },
      session: (call) => {
        this.session(call).catch((error: unknown) => this.failed(call, error, 'session'));
      },
      journal: (call) => {
        this.journal(call).catch((error: unknown) => this.failed(call, error, 'journal'));
      },
    };
  }

  /**
   * An agent's Journal stream (edge audit mode): batches are stored one after another, in the
   * order they arrive, and each is answered with how far its chain is durable.
   */
  private async journal(call: ServerDuplexStream<JournalUp, JournalDown>): Promise<void> {
    const token = bearerToken(call.metadata.get('authorization'));
    const tokenHash = token ? hashAgentToken(token) : undefined;
    const agent = tokenHash ? this.registry.byTokenHash(tokenHash) : undefined;
    if (!agent || !tokenHash) {
      await this.authenticator.authenticate(call.metadata, call.getPeer(), 'session');
      throw new RpcError(GrpcStatus.FAILED_PRECONDITION, 'no control stream for this agent on this gateway');
    }
    let queue = Promise.resolve();
    this.progress.streamOpened(agent.agentId);
    let open = true;
    const closed = () => {
      if (open) this.progress.streamClosed(agent.agentId);
      open = false;
    };
    call.on('close', closed);
    call.on('cancelled', closed);
    call.on('data', (batch: JournalUp) => {
      queue = queue.then(async () => {
        // Only while this instance holds the agent's control stream (a revoked token, a newer
        // instance or a deleted agent ends that, and so this).
        if (this.registry.byTokenHash(tokenHash) !== agent) {
          failCall(
            call,
            new RpcError(GrpcStatus.PERMISSION_DENIED, 'the agent no longer holds its control stream'),
          );
          return;
        }
        const ack = await this.journals.ingest(agent, batch);
        if (!call.writableEnded && !call.cancelled) call.write(ack);
      });
    });
    call.on('end', () => void queue.then(() => !call.writableEnded && call.end()));
    call.on('error', closed);
  }

  private failed(call: ServerDuplexStream<unknown, unknown>, error: unknown, stream: string): void {
    if (!(error instanceof RpcError)) this.logger.log.error({ err: error, stream }, 'agent stream failed');
    failCall(call, error);
  }

  private async control(call: ControlCall): Promise<void> {
    const peer = call.getPeer();
    const identity = await this.authenticator.authenticate(call.metadata, peer, 'control');
    const first = await firstMessage<AgentMessage>(call, 10_000, 'Register');
    if (first.kind?.$case !== 'register') {
      throw this.violation(call, 'the first message must be Register');
    }
    const register = first.kind.register;
    if (!isInstanceKey(register.instanceKey)) {
      throw this.violation(
        call,
        'Register must carry instance_key (at least 128 random bits, base64url): is the agent older than the gateway?',
      );
    }
    const instance: AgentInstanceInfo = {
      instanceId: instanceIdOf(register.instanceKey),
      hostname: register.hostname,
      address: peer,
      version: register.agentVersion,
    };
    const connectedAt = new Date();
    const agent = new LiveAgent(identity, call, connectedAt, instance);
    const log = this.logger.log.child({
      agent: identity.agentName,
      agentId: identity.agentId,
      instance: instance.instanceId,
    });

    const admission = await this.admission.admit(agent, () =>
      call.write({
        kind: {
          $case: 'registered',
          registered: {
            agentId: identity.agentId,
            agentName: identity.agentName,
            heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
            instanceId: instance.instanceId,
          },
        },
      }),
    );
    if (!admission.admitted) {
      const { holder } = admission;
      const auditedAgent = {
        agentId: identity.agentId,
        agentName: identity.agentName,
        tokenPrefix: identity.tokenPrefix,
      };
      this.trail.conflict(auditedAgent, holder, instance);
      const message =
        `agent "${identity.agentName}" is already connected from another instance (${holder.instanceId ?? 'unknown'}` +
        `${holder.connectedAt ? `, connected since ${holder.connectedAt.toISOString()}` : ''}); ` +
        `this instance (${instance.instanceId}) is refused while that one's stream is alive`;
      log.warn(
        { hostname: instance.hostname, peer, holder: holder.instanceId, holderAddress: holder.address },
        'second agent instance refused',
      );
      call.write({
        kind: {
          $case: 'error',
          error: { code: ControlErrorCode.INSTANCE_CONFLICT, message, retryAfterMs: CONFLICT_RETRY_AFTER_MS },
        },
      });
      throw new RpcError(GrpcStatus.ALREADY_EXISTS, message);
    }
    log.info({ version: instance.version, hostname: instance.hostname, peer }, 'agent connected');
    await this.warnUnassigned(agent, register);
    let bundleVersion = register.bundleVersion;
    const pushBundle = async () => {
      const bundle = await this.bundles.forAgent(identity.agentId);
      if (bundle.version === bundleVersion) return;
      bundleVersion = bundle.version;
      agent.pushedPolicyVersions.set(bundle.version, bundle.policyVersion);
      agent.send({ kind: { $case: 'bundle', bundle } });
      log.info({ bundleVersion: bundle.version, connections: bundle.connections.length }, 'bundle pushed');
    };
    agent.pushBundle = pushBundle;
    await pushBundle();

    let lastMessageAt = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastMessageAt > HEARTBEAT_INTERVAL_MS * MISSED_HEARTBEATS) {
        log.warn('agent missed its heartbeats; closing its control stream');
        this.registry.remove(agent);
        agent.close(ControlErrorCode.UNSPECIFIED, 'heartbeats missed', GrpcStatus.DEADLINE_EXCEEDED);
      }
    }, HEARTBEAT_INTERVAL_MS);

    agent.onGone(() => {
      clearInterval(watchdog);
      this.registry.remove(agent);
      this.pending.agentGone(identity.agentId);
      void this.presence.offline(identity.agentId, connectedAt);
      log.info('agent disconnected');
    });

    call.on('data', (message: AgentMessage) => {
      lastMessageAt = Date.now();
      agent.lastSeenAt = new Date(lastMessageAt);
      this.onControlMessage(agent, message, pushBundle).catch((error: unknown) =>
        log.error({ err: error }, 'control message failed'),
      );
    });
    call.on('error', () => agent.markGone());
    call.on('end', () => {
      agent.markGone();
      if (!call.writableEnded) call.end();
    });
    call.on('cancelled', () => agent.markGone());
    call.resume();
  }

  private async onControlMessage(
    agent: LiveAgent,
    message: AgentMessage,
    pushBundle: () => Promise<void>,
  ): Promise<void> {
    switch (message.kind?.$case) {
      case 'heartbeat':
        agent.send({ kind: { $case: 'heartbeatAck', heartbeatAck: {} } });
        this.presence.seen(agent.agentId, agent.instance.instanceId);
        await pushBundle();
        return;
      case 'bundleAck': {
        const ack = message.kind.bundleAck;
        if (ack.error) {
          this.logger.log.warn(
            { agent: agent.name, version: ack.version, error: ack.error },
            'agent rejected bundle',
          );
        } else {
          this.presence.bundleApplied(
            agent.agentId,
            ack.version,
            agent.pushedPolicyVersions.get(ack.version),
          );
        }
        return;
      }
      case 'sessionRefused': {
        const refused = message.kind.sessionRefused;
        this.pending.refuse(refused.sessionId, agent.agentId, refused.message || 'refused by the agent');
        return;
      }
      default:
        agent.close(
          ControlErrorCode.PROTOCOL_VIOLATION,
          `unexpected ${message.kind?.$case ?? 'empty'} message on the control stream`,
          GrpcStatus.INVALID_ARGUMENT,
        );
    }
  }

  /** An agent may only serve connections assigned to it; it is told about any others it named. */
  private async warnUnassigned(agent: LiveAgent, register: Register): Promise<void> {
    if (register.connectionNames.length === 0) return;
    const assigned = await this.store.prisma.connection.findMany({
      where: { name: { in: register.connectionNames }, agents: { some: { agentId: agent.agentId } } },
      select: { name: true },
    });
    const names = new Set(assigned.map((c) => c.name));
    const unassigned = register.connectionNames.filter((name) => !names.has(name));
    if (unassigned.length === 0) return;
    agent.send({
      kind: {
        $case: 'error',
        error: {
          code: ControlErrorCode.UNKNOWN_CONNECTION,
          message: `not assigned to this agent (not served): ${unassigned.join(', ')}`,
          retryAfterMs: 0,
        },
      },
    });
  }

  private async session(call: AgentSessionCall): Promise<void> {
    const peer = call.getPeer();
    const token = bearerToken(call.metadata.get('authorization'));
    // Session streams come from an agent whose Control stream this replica holds; its token was
    // checked then and is re-checked every 0.5 s, so no store round trip is needed here.
    const agent = token ? this.registry.byTokenHash(hashAgentToken(token)) : undefined;
    if (!agent) {
      await this.authenticator.authenticate(call.metadata, peer, 'session');
      throw new RpcError(GrpcStatus.FAILED_PRECONDITION, 'no control stream for this agent on this gateway');
    }
    const first = await firstMessage<SessionUp>(call, 10_000, 'SessionAttach');
    if (first.kind?.$case !== 'attach') {
      throw new RpcError(GrpcStatus.INVALID_ARGUMENT, 'the first message must be SessionAttach');
    }
    const { sessionId, instanceKey } = first.kind.attach;
    const instanceId = isInstanceKey(instanceKey) ? instanceIdOf(instanceKey) : null;
    const audited = {
      agentId: agent.agentId,
      agentName: agent.name,
      tokenPrefix: agent.identity.tokenPrefix,
    };
    if (instanceId !== agent.instance.instanceId) {
      this.trail.attachRefused(audited, {
        sessionId,
        address: peer,
        instanceId,
        reason: `an instance of agent "${agent.name}" that does not hold its control stream tried to attach to a session`,
      });
      throw new RpcError(
        GrpcStatus.PERMISSION_DENIED,
        "this agent instance does not hold the agent's control stream; sessions attach only to the instance they were offered to",
      );
    }
    const attached = this.pending.attach(sessionId, agent.agentId, call);
    if (attached.kind === 'attached') return;
    const refusal =
      attached.kind === 'offered-to-another'
        ? offeredElsewhere(agent.name, this.registry.get(attached.agentId)?.name ?? attached.agentId)
        : await this.attachToUnknown(agent.name, sessionId);
    if (refusal) this.trail.attachRefused(audited, { sessionId, address: peer, instanceId, ...refusal });
    throw new RpcError(GrpcStatus.PERMISSION_DENIED, 'no such session was offered to this agent');
  }

  private violation(call: ControlCall, message: string): RpcError {
    call.write({
      kind: {
        $case: 'error',
        error: { code: ControlErrorCode.PROTOCOL_VIOLATION, message, retryAfterMs: 0 },
      },
    });
    return new RpcError(GrpcStatus.INVALID_ARGUMENT, message);
  }

  /**
   * An attach to a session not waiting on this replica: a session another agent serves is a
   * cross-agent attempt; anything else (no such session, an offer that timed out before this
   * agent answered) is refused without a record.
   */
  private async attachToUnknown(
    agentName: string,
    sessionId: string,
  ): Promise<{ reason: string; offeredTo: string } | undefined> {
    if (!UUID.test(sessionId)) return undefined;
    const session = await this.store.prisma.session
      .findUnique({ where: { id: sessionId }, select: { agent: { select: { name: true } } } })
      .catch(() => null);
    const servedBy = session?.agent?.name;
    return servedBy && servedBy !== agentName ? offeredElsewhere(agentName, servedBy) : undefined;
  }
}

function offeredElsewhere(agentName: string, offeredTo: string): { reason: string; offeredTo: string } {
  return { reason: `agent "${agentName}" tried to attach to a session of agent "${offeredTo}"`, offeredTo };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
