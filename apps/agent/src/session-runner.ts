import { Metadata } from '@grpc/grpc-js';
import {
  encodeDataEnvelope,
  encodeDataEnvelopeAround,
  ENVELOPE_FRAME_FIELD,
  type AgentTunnelWireClient,
  type Bundle,
  CloseCode,
  type OpenSession,
  type SessionDown,
  type SessionUp,
  SessionRefusalCode,
  sessionVerbName,
} from '@tollgate/proto';
import {
  resetFrame,
  TargetUnreachableError,
  type EngineSession,
  type FrameCodec,
} from '@tollgate/protocol-tcp';
import type { Logger } from 'pino';
import type { EngineRegistry } from './engine-registry';
import {
  sessionCommands,
  type AgentJournalPort,
  type EnforcedPolicy,
  type SessionCommands,
} from './session-commands';

/**
 * Data frames leave pre-encoded (see AgentTunnelWire): a target read is encoded around the bytes
 * where they were read; other data (an engine's writes) with one copy.
 */
const sessionCodec: FrameCodec<SessionDown, SessionUp | Buffer> = {
  wrap: (frame) =>
    frame.kind?.$case === 'data'
      ? encodeDataEnvelope(ENVELOPE_FRAME_FIELD.sessionUp, frame.kind.data)
      : { kind: { $case: 'frame', frame } },
  wrapRead: (data) => encodeDataEnvelopeAround(ENVELOPE_FRAME_FIELD.sessionUp, data),
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

export type Refusal = { code: SessionRefusalCode; message: string };

/**
 * Serves sessions the gateway offers: checks the connection is in the bundle the agent enforces,
 * opens the session's own gRPC stream (same HTTP/2 connection, its own flow control), dials the
 * target through the protocol's engine, reports the result, and relays until the session ends.
 */
export class SessionRunner {
  private readonly sessions = new Map<string, EngineSession>();
  /** The policy path of every session opened or being opened, to take the next policy version. */
  private readonly policyPaths = new Map<
    string,
    {
      readonly connection: string;
      readonly commands: SessionCommands;
      readonly tell: (reason: string) => void;
    }
  >();
  /** Why no session may be served now: the agent could not evaluate the active policy version. */
  private policyProblem: string | undefined;
  /** Sessions a policy change ended while their target was being opened. */
  private readonly endOnOpen = new Map<string, string>();
  private draining = false;
  /** Sessions whose target is being dialed (they count against the limit too). */
  private starting = 0;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly client: AgentTunnelWireClient,
    /** The agent token, and this process's instance key (a session attaches as the instance it was offered to). */
    private readonly identity: { readonly token: string; readonly instanceKey: string },
    private readonly engines: EngineRegistry,
    private readonly connectTimeoutMs: number,
    private readonly maxSessions: number,
    private readonly logger: Logger,
    private readonly journal: AgentJournalPort,
    /** Largest terminal recording of one stream (TOLLGATE_AGENT_RECORDING_MAX_BYTES). */
    private readonly recordingMaxBytes = 64 * 1024 * 1024,
  ) {}

  get active(): number {
    return this.sessions.size;
  }

  /** Starts serving; returns a refusal instead when the agent will not serve it. */
  open(request: OpenSession, bundle: Bundle | undefined, enforced: EnforcedPolicy): Refusal | undefined {
    const spec = bundle?.connections.find((c) => c.name === request.connectionName);
    if (!spec) {
      return {
        code: SessionRefusalCode.UNKNOWN_CONNECTION,
        message: `this agent does not serve "${request.connectionName}"`,
      };
    }
    const engine = this.engines.get(spec.protocol);
    if (!engine) {
      return {
        code: SessionRefusalCode.INTERNAL,
        message: `this agent has no engine for "${spec.name}"'s protocol`,
      };
    }
    // Every command is recorded under the subject and its whole actor chain: a session whose
    // identity is missing (or a link of the chain is) could run nothing attributable.
    const identity = request.context;
    if (!identity?.subject || (identity.actors ?? []).some((actor) => !actor.subject)) {
      return {
        code: SessionRefusalCode.INTERNAL,
        message: 'the session names no subject, or an actor of its chain without one: it is refused',
      };
    }
    const verb = sessionVerbName(request.context?.verb);
    if (!verb || (verb === 'exec' && !engine.runsExec)) {
      // Relaying an exec session as an interactive one would give it more than its verb allows.
      return {
        code: SessionRefusalCode.INTERNAL,
        message: `this agent does not run ${verb ?? 'unknown-verb'} sessions on "${spec.name}"`,
      };
    }
    // A session is served only under the policy it was authorized under, or a later one: an agent
    // that has not applied that version (or could not evaluate it) would decide its commands by a
    // version the gateway no longer enforces.
    if (this.policyProblem !== undefined)
      return { code: SessionRefusalCode.POLICY_MISMATCH, message: this.policyProblem };
    const authorizedUnder = request.context?.policyVersion ?? 0;
    if (authorizedUnder > enforced.version) {
      return {
        code: SessionRefusalCode.POLICY_MISMATCH,
        message: `the session was authorized under policy version ${authorizedUnder}, and this agent enforces version ${enforced.version}`,
      };
    }
    if (this.draining)
      return { code: SessionRefusalCode.SHUTTING_DOWN, message: 'the agent is shutting down' };
    if (this.sessions.size + this.starting >= this.maxSessions) {
      return {
        code: SessionRefusalCode.AT_CAPACITY,
        message: `the agent already serves its maximum of ${this.maxSessions} sessions`,
      };
    }
    this.starting++;
    const log = this.logger.child({ sessionId: request.sessionId, connection: spec.name });
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${this.identity.token}`);
    const stream = this.client.session(metadata);
    // A stream that fails before the relay takes over (gateway gone, session cancelled) means the
    // target connection, once open, is closed again instead of relayed.
    let failedEarly = false;
    stream.on('error', () => (failedEarly = true));
    stream.write({
      kind: {
        $case: 'attach',
        attach: { sessionId: request.sessionId, instanceKey: this.identity.instanceKey },
      },
    });
    const commands = sessionCommands(
      spec,
      request,
      verb,
      enforced,
      (message) => {
        if (!stream.writableEnded && !stream.destroyed) stream.write(message);
      },
      this.journal,
      this.recordingMaxBytes,
    );
    // Ending a session on its own, the agent tells the client why: a reset carrying the reason, which
    // the client's side says in its protocol (a FATAL ErrorResponse for psql) instead of a bare close.
    const tell = (reason: string) => {
      if (!stream.writableEnded && !stream.destroyed) stream.write(sessionCodec.wrap(resetFrame(reason)));
    };
    // The stream's last message, whoever ends it (the engine, a refused open): how far the journal
    // holds the session's events, so the gateway records its close after them.
    const endStream = stream.end.bind(stream) as () => unknown;
    stream.end = (() => {
      const position = commands.audit.journalPosition();
      if (position && !stream.writableEnded && !stream.destroyed)
        stream.write({ kind: { $case: 'journalPosition', journalPosition: position } });
      return endStream();
    }) as typeof stream.end;
    this.policyPaths.set(request.sessionId, { connection: spec.name, commands, tell });
    stream.on('data', (message: SessionDown) => {
      // The gateway ends the session (kill, revoked token, expired grant, policy change, shutdown):
      // the engine ends the work at the target and records it before the stream closes.
      const close = message.kind?.$case === 'close' ? message.kind.close : undefined;
      if (close && close.code !== CloseCode.NORMAL) this.abort(request.sessionId, close.reason);
      // A client's cancel that reached the gateway: the engine stops the running statement.
      else if (message.kind?.$case === 'interrupt')
        this.sessions.get(request.sessionId)?.interrupt?.(message.kind.interrupt.reason);
      else commands.audit.handle(message);
    });
    stream.on('close', () => commands.audit.close('the session stream closed'));
    void engine
      .open(spec, {
        connectTimeoutMs: this.connectTimeoutMs,
        session: request,
        commands: commands.port,
        verb,
      })
      .then(
        async (session) => {
          this.starting--;
          if (failedEarly || stream.destroyed) {
            session.abort();
            log.info('session cancelled before the target opened');
            return;
          }
          this.sessions.set(request.sessionId, session);
          const ended = this.endOnOpen.get(request.sessionId);
          if (ended !== undefined) {
            tell(ended);
            session.abort(ended);
          }
          stream.write({
            kind: { $case: 'targetResult', targetResult: { result: { $case: 'opened', opened: {} } } },
          });
          log.info({ subject: request.context?.subject }, 'session open');
          const outcome = await session.relay(stream, sessionCodec);
          log.info({ outcome }, 'session closed');
        },
        (error: unknown) => {
          this.starting--;
          const message =
            error instanceof TargetUnreachableError ? error.message : 'the agent could not open the target';
          if (!(error instanceof TargetUnreachableError)) log.error({ err: error }, 'engine failed to open');
          log.info({ reason: message }, 'target unreachable');
          stream.write({
            kind: {
              $case: 'targetResult',
              targetResult: { result: { $case: 'targetUnreachable', targetUnreachable: { message } } },
            },
          });
          stream.end();
        },
      )
      .finally(() => {
        this.sessions.delete(request.sessionId);
        this.policyPaths.delete(request.sessionId);
        this.endOnOpen.delete(request.sessionId);
        this.settled();
      });
    return undefined;
  }

  /**
   * A new bundle is applied: every session's next command is decided by its policy version and its
   * connection's tags, and a session whose fixed settings they would change (masking, read-only,
   * audit mode, body recording, forwarding), or whose connection the agent no longer serves, ends,
   * so no session goes on under a version the agent no longer enforces.
   */
  policyChanged(enforced: EnforcedPolicy, bundle: Bundle): void {
    this.policyProblem = undefined;
    for (const [sessionId, path] of this.policyPaths) {
      // The connection as the bundle has it now: its tags decide which rules apply.
      const spec = bundle.connections.find((c) => c.name === path.connection);
      const reason = path.commands.follow(enforced, spec);
      if (reason !== undefined) this.endByPolicy(sessionId, reason);
    }
  }

  /**
   * The active policy version cannot be evaluated here (its document does not parse for this
   * agent): no session may go on deciding by the version before it, so every session ends and new
   * ones are refused until a version the agent can evaluate arrives.
   */
  policyUnusable(reason: string): void {
    this.policyProblem = reason;
    for (const sessionId of this.policyPaths.keys()) this.endByPolicy(sessionId, reason);
  }

  private endByPolicy(sessionId: string, reason: string): void {
    const path = this.policyPaths.get(sessionId);
    if (!path) return;
    this.logger.info({ sessionId, reason }, 'session ended by a policy change');
    path.commands.audit.close(reason);
    // One still being opened ends as soon as its target is open.
    if (this.sessions.has(sessionId)) {
      path.tell(reason);
      this.abort(sessionId, reason);
    } else this.endOnOpen.set(sessionId, reason);
  }

  /**
   * Ends a session from outside: first no command of it may run any more (one whose decision is
   * still being made durable included: the end came first), then the engine ends its work.
   */
  abort(sessionId: string, reason?: string): void {
    this.policyPaths.get(sessionId)?.commands.audit.endCommands(reason || 'the session was ended');
    this.sessions.get(sessionId)?.abort(reason);
  }

  /** Refuses new sessions and aborts the open ones. */
  drain(): void {
    this.draining = true;
    for (const sessionId of [...this.sessions.keys()]) this.abort(sessionId, 'the agent is shutting down');
  }

  /** Refuses new sessions (the gateway offers them to other agents); open ones run on. */
  refuseNew(): void {
    this.draining = true;
  }

  /** Resolves once no session is open or being opened. */
  whenIdle(): Promise<void> {
    if (this.sessions.size + this.starting === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private settled(): void {
    if (this.sessions.size + this.starting > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}
