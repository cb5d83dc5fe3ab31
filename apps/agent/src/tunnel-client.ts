import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { ConfigError, type AgentConfig } from '@tollgate/config';
import {
  AgentTunnelWireClient,
  ControlErrorCode,
  gatewayChannelCredentials,
  probeGatewayTls,
  Protocol,
  type GatewayTrust,
  type AgentMessage,
  type Bundle,
  type GatewayMessage,
  type OpenSession,
} from '@tollgate/proto';
import { DEFAULT_POLICY, formatPolicyError, parsePolicy, type Policy } from '@tollgate/policy';
import type { Logger } from 'pino';
import { Backoff } from './backoff';
import { TUNNEL_CHANNEL_OPTIONS } from './tunnel-channel-options';
import { agentEngines } from './engine-registry';
import { AuditJournal, JournalWriteError, LeftoverJournal } from './journal/audit-journal';
import { JournalShipper } from './journal/journal-shipper';
import type { AgentJournalPort } from './session-commands';
import { SessionRunner } from './session-runner';
import { AGENT_VERSION } from './version';

export type AgentState = 'connecting' | 'online' | 'stopped';

/** Why one Control stream ended, and whether the agent may try again. */
interface ControlOutcome {
  readonly fatal: boolean;
  readonly reason: string;
  readonly registered: boolean;
  /** The gRPC status the stream ended with (UNAVAILABLE: the gateway could not be reached). */
  readonly status?: GrpcStatus;
  /** Another instance of this agent holds its stream: retry no sooner than this. */
  readonly conflict?: { readonly retryAfterMs: number };
}

/** A refused instance retries no sooner than the gateway asks, and never in a tight loop. */
const MIN_CONFLICT_RETRY_MS = 1_000;
/** How long the gateway has to answer a registration (registered or an error) before the agent reconnects. */
/** How long an offer made before the agent's first bundle waits for it. */
const BUNDLE_WAIT_MS = 10_000;
const REGISTRATION_TIMEOUT_MS = 20_000;

/**
 * The agent's tunnel: keeps one Control stream to the gateway (register, heartbeats, bundles,
 * session requests), reconnecting with jittered capped backoff; a rejected or revoked token stops
 * it for good (the same token will not work again), and so does a gateway certificate that will
 * never verify (wrong pinned fingerprint, untrusted CA, wrong name, expired).
 *
 * Each agent process is one instance: it draws a secret `instanceKey` at start and sends it with
 * every registration, so the gateway can tell this process reconnecting (its old stream is replaced)
 * from a second process with the same token (refused while this one's stream is alive).
 */
export class TunnelClient {
  private readonly client: AgentTunnelWireClient;
  private readonly trust: GatewayTrust;
  private readonly instanceKey = randomBytes(32).toString('base64url');
  private readonly sessions: SessionRunner;
  private readonly backoff: Backoff;
  private bundle: Bundle | undefined;
  /** The policy of the applied bundle, parsed; engines decide commands by it. */
  private enforced: { readonly version: number; readonly policy: Policy } = {
    version: 0,
    policy: DEFAULT_POLICY,
  };
  /** The last bundle's policy did not parse here: no session is served until one that does. */
  private policyRejected = false;
  private current: { cancel(): void } | undefined;
  private stopped = false;
  private shuttingDown = false;
  private wake: (() => void) | undefined;
  private readonly shipper: JournalShipper;
  private journal: AuditJournal | undefined;
  private leftovers: LeftoverJournal[] = [];
  private journalProblem = 'it is not open yet';
  state: AgentState = 'connecting';

  constructor(
    private readonly config: AgentConfig,
    private readonly logger: Logger,
    engines = agentEngines(config, logger),
  ) {
    this.trust = {
      ...(config.caFile ? { ca: readCaFile(config.caFile) } : {}),
      ...(config.gatewayFingerprint ? { fingerprint: config.gatewayFingerprint } : {}),
    };
    this.client = new AgentTunnelWireClient(
      config.gateway.address,
      gatewayChannelCredentials(config.gateway, this.trust),
      TUNNEL_CHANNEL_OPTIONS,
    );
    this.shipper = new JournalShipper(this.client, config.token, config.journalMaxLag, logger);
    // Read only after an append, which needs the journal.
    const journalOf = () => this.journal ?? { chain: '', appendedThrough: 0 };
    const journalPort: AgentJournalPort = {
      journal: {
        appendCanonical: (text) =>
          this.journal
            ? this.journal.appendCanonical(text)
            : Promise.reject(new JournalWriteError(new Error(this.journalProblem))),
        // A result after the fact: without a journal no command ran, so there is none to record.
        appendCanonicalLater: (text) => this.journal?.appendCanonicalLater(text),
        get chain() {
          return journalOf().chain;
        },
        get appendedThrough() {
          return journalOf().appendedThrough;
        },
      },
      refusal: () =>
        this.journal ? this.shipper.refusal() : `the agent has no audit journal (${this.journalProblem})`,
    };
    this.sessions = new SessionRunner(
      this.client,
      { token: config.token, instanceKey: this.instanceKey },
      engines,
      config.connectTimeoutMs,
      config.maxSessions,
      logger,
      journalPort,
      config.recordingMaxBytes,
    );
    this.backoff = new Backoff(100, config.reconnectMaxMs);
  }

  /** Runs until stopped or the token is rejected; resolves with the reason it stopped. */
  async run(): Promise<{ fatal: boolean; reason: string }> {
    await this.openJournals();
    try {
      return await this.runControl();
    } finally {
      await this.closeJournals();
    }
  }

  /** The journal directory for this agent (its token) under the data directory. */
  get journalRoot(): string {
    const id = createHash('sha256').update(this.config.token).digest('hex').slice(0, 16);
    return join(this.config.dataDir, 'journal', id);
  }

  /**
   * Journals an earlier process left (SIGKILL, a crash, a drain cut short) are shipped before
   * anything new; then this process's own journal opens. Without a journal the agent still serves
   * sessions in the strict mode, and refuses commands in the edge mode (fail closed).
   */
  private async openJournals(): Promise<void> {
    const root = this.journalRoot;
    try {
      mkdirSync(root, { recursive: true, mode: 0o700 });
      this.leftovers = await LeftoverJournal.collect(root, this.logger);
      for (const leftover of this.leftovers) {
        this.logger.info(
          { chain: leftover.chain, events: leftover.unacknowledged().length },
          'audit journal from an earlier run: shipping it first',
        );
        this.shipper.add(leftover);
      }
      const journal = await AuditJournal.create(root, this.logger);
      journal.onDurable = () => this.shipper.wake();
      this.shipper.add(journal);
      this.journal = journal;
      this.logger.info({ chain: journal.chain, dir: journal.dir }, 'audit journal open');
    } catch (error) {
      this.journalProblem = error instanceof Error ? error.message : String(error);
      this.logger.error(
        { err: error, dir: root },
        'audit journal unavailable: commands on edge-audited connections are refused',
      );
    }
  }

  private async closeJournals(): Promise<void> {
    this.shipper.disconnect();
    await this.journal?.close();
    for (const leftover of this.leftovers) if (!leftover.drained) await leftover.release();
  }

  private async runControl(): Promise<{ fatal: boolean; reason: string }> {
    while (!this.stopped) {
      const outcome = await this.controlOnce();
      if (this.stopped) break;
      if (outcome.fatal) {
        this.logger.error({ reason: outcome.reason }, 'the gateway rejected this agent; not reconnecting');
        this.stop();
        return { fatal: true, reason: outcome.reason };
      }
      const certificate = await this.certificateFailure(outcome);
      if (this.stopped) break;
      if (certificate) {
        this.logger.error(
          { reason: certificate },
          'the gateway certificate will never verify; not reconnecting',
        );
        this.stop();
        return { fatal: true, reason: certificate };
      }
      if (outcome.registered) this.backoff.reset();
      // The ControlError says how long to wait; a bare ALREADY_EXISTS status is the same refusal.
      const conflict =
        outcome.conflict ??
        (outcome.status === GrpcStatus.ALREADY_EXISTS ? { retryAfterMs: 5_000 } : undefined);
      let delay: number;
      if (conflict) {
        const base = Math.max(MIN_CONFLICT_RETRY_MS, conflict.retryAfterMs);
        delay = Math.round(base * (1 + Math.random() / 5));
        this.logger.error(
          { reason: outcome.reason, retryInMs: delay },
          'another instance of this agent is connected; this one is refused while that one is alive',
        );
      } else {
        delay = this.backoff.next();
        this.logger.warn({ reason: outcome.reason, retryInMs: delay }, 'control stream lost; reconnecting');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return { fatal: false, reason: 'stopped' };
  }

  /**
   * Graceful stop (SIGTERM): new sessions are refused at once, so the gateway offers them to the
   * other agents serving the connection; open sessions run on until they end or `graceMs` passes,
   * then the agent stops (ending whatever is left). A second call, or stop(), ends them now.
   */
  async shutdown(graceMs: number): Promise<void> {
    if (this.stopped) return;
    if (this.shuttingDown || graceMs <= 0) return this.stop();
    this.shuttingDown = true;
    this.sessions.refuseNew();
    if (this.sessions.active > 0) {
      this.logger.info(
        { sessions: this.sessions.active, graceMs },
        'draining: new sessions go to other agents',
      );
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<'expired'>(
        (resolve) => (timer = setTimeout(() => resolve('expired'), graceMs)),
      );
      const outcome = await Promise.race([this.sessions.whenIdle().then(() => 'idle' as const), expired]);
      clearTimeout(timer);
      if (outcome === 'expired') {
        this.logger.warn({ sessions: this.sessions.active }, 'drain time is up; ending the open sessions');
        this.sessions.drain();
        await Promise.race([this.sessions.whenIdle(), new Promise((r) => setTimeout(r, 5_000))]);
      } else {
        this.logger.info('drained: no session left');
      }
    }
    // Every event journaled goes to the gateway before the process exits; what cannot (the gateway
    // is away for the whole grace period) stays on disk and the next start ships it first.
    if (!this.stopped && !this.shipper.drained) {
      this.logger.info('draining: shipping the audit journal');
      const shipped = await this.shipper.whenDrained(Math.max(graceMs, 10_000));
      if (shipped) this.logger.info('audit journal shipped');
      else
        this.logger.warn(
          'the audit journal could not be shipped in time; it stays on disk for the next start',
        );
    }
    this.stop();
  }

  /**
   * After a stream that could not reach a TLS gateway: whether the gateway's certificate will never
   * verify (checked with one TLS handshake, the same checks as the channel's), and why.
   */
  private async certificateFailure(outcome: ControlOutcome): Promise<string | undefined> {
    if (!this.config.gateway.tls || outcome.registered || outcome.status !== GrpcStatus.UNAVAILABLE) {
      return undefined;
    }
    const verdict = await probeGatewayTls(this.config.gateway, this.trust);
    return !verdict.ok && verdict.permanent ? verdict.reason : undefined;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.state = 'stopped';
    this.sessions.drain();
    this.shipper.disconnect();
    this.current?.cancel();
    this.wake?.();
    this.client.close();
  }

  private controlOnce(): Promise<ControlOutcome> {
    return new Promise<ControlOutcome>((resolve) => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${this.config.token}`);
      const call = this.client.control(metadata);
      this.current = call;
      let registered = false;
      let fatalReason: string | undefined;
      let conflict: { retryAfterMs: number; message: string } | undefined;
      let heartbeat: NodeJS.Timeout | undefined;
      let lastHeard = Date.now();
      const send = (message: AgentMessage) => {
        if (!call.writableEnded) call.write(message);
      };
      // A gateway that accepts the stream but never answers the registration (overloaded, its store
      // hung) must not hold the agent forever: give up on this stream and reconnect with backoff.
      const unanswered = setTimeout(() => {
        this.logger.warn(
          { waitedMs: REGISTRATION_TIMEOUT_MS },
          'the gateway did not answer the registration; reconnecting',
        );
        call.cancel();
      }, REGISTRATION_TIMEOUT_MS);
      // The gateway routes sessions to an agent once it is registered, and its first bundle (or the
      // one with the policy version a session was authorized under) may arrive just after an offer:
      // the agent holds such offers until it comes (or BUNDLE_WAIT_MS passes, then they are decided
      // on what it has: a session authorized under a version not applied here is refused).
      let beforeBundle: OpenSession[] = [];
      let bundleWait: NodeJS.Timeout | undefined;
      const openSession = (request: OpenSession) => {
        const refusal = this.sessions.open(request, this.bundle, this.enforced);
        if (refusal) {
          this.logger.warn({ sessionId: request.sessionId, reason: refusal.message }, 'session refused');
          send({
            kind: {
              $case: 'sessionRefused',
              sessionRefused: { sessionId: request.sessionId, ...refusal },
            },
          });
        }
      };
      const openHeld = () => {
        clearTimeout(bundleWait);
        bundleWait = undefined;
        const held = beforeBundle;
        beforeBundle = [];
        for (const request of held) openSession(request);
      };
      const finish = (reason: string, status?: GrpcStatus) => {
        clearTimeout(unanswered);
        clearTimeout(bundleWait);
        beforeBundle = [];
        this.shipper.disconnect();
        clearInterval(heartbeat);
        this.state = this.stopped ? 'stopped' : 'connecting';
        resolve({
          fatal: fatalReason !== undefined,
          reason: fatalReason ?? conflict?.message ?? reason,
          registered,
          ...(status === undefined ? {} : { status }),
          ...(conflict ? { conflict } : {}),
        });
      };

      send({
        kind: {
          $case: 'register',
          register: {
            agentVersion: AGENT_VERSION,
            hostname: hostname(),
            connectionNames: this.bundle?.connections.map((c) => c.name) ?? [],
            bundleVersion: this.bundle?.version ?? '',
            instanceKey: this.instanceKey,
          },
        },
      });

      call.on('data', (message: GatewayMessage) => {
        lastHeard = Date.now();
        switch (message.kind?.$case) {
          case 'registered': {
            const { agentName, heartbeatIntervalMs, instanceId } = message.kind.registered;
            registered = true;
            clearTimeout(unanswered);
            this.state = 'online';
            if (this.journal || this.leftovers.length > 0) this.shipper.connect();
            this.logger.info(
              { agent: agentName, instance: instanceId, gateway: this.config.gateway.address },
              'agent registered',
            );
            heartbeat = setInterval(() => {
              if (Date.now() - lastHeard > heartbeatIntervalMs * 3) {
                this.logger.warn('no answer from the gateway for 3 heartbeats');
                call.cancel();
                return;
              }
              send({
                kind: {
                  $case: 'heartbeat',
                  heartbeat: { sentAtUnixMs: Date.now(), activeSessions: this.sessions.active },
                },
              });
            }, heartbeatIntervalMs);
            return;
          }
          case 'bundle':
            send({ kind: { $case: 'bundleAck', bundleAck: this.applyBundle(message.kind.bundle) } });
            if (beforeBundle.length > 0) openHeld();
            return;
          case 'openSession': {
            const request = message.kind.openSession;
            // Authorized under a policy version not applied here yet: its bundle is on its way
            // (every apply pushes one), so the offer waits for it like the first bundle.
            const behind =
              !this.policyRejected && (request.context?.policyVersion ?? 0) > this.enforced.version;
            if (this.bundle === undefined || behind) {
              beforeBundle.push(request);
              bundleWait ??= setTimeout(openHeld, BUNDLE_WAIT_MS);
              return;
            }
            openSession(request);
            return;
          }
          case 'closeSession':
            this.sessions.abort(message.kind.closeSession.sessionId, message.kind.closeSession.reason);
            return;
          case 'error': {
            const { code, message: text, retryAfterMs } = message.kind.error;
            if (code === ControlErrorCode.TOKEN_REVOKED) fatalReason = text || 'agent token revoked';
            if (code === ControlErrorCode.INSTANCE_CONFLICT) {
              conflict = { retryAfterMs, message: text || 'another instance of this agent is connected' };
              return;
            }
            this.logger.warn({ code: ControlErrorCode[code], message: text }, 'gateway reported a problem');
            return;
          }
          default:
            return;
        }
      });
      call.on('error', (error: ServiceError) => {
        if (error.code === GrpcStatus.UNAUTHENTICATED) fatalReason ??= error.details;
        finish(`${GrpcStatus[error.code] ?? error.code}: ${error.details}`, error.code);
      });
      call.on('end', () => finish('the gateway ended the control stream'));
    });
  }

  /** The policy this agent enforces and its stored version (0: the built-in default). */
  get policy(): { readonly version: number; readonly policy: Policy } {
    return this.enforced;
  }

  /** Applies a bundle as a whole, or rejects it and keeps the previous one. */
  private applyBundle(bundle: Bundle): { version: string; error: string } {
    const bad = bundle.connections.find((c) => !targetMatches(c.protocol, c.target?.$case));
    if (bad) {
      this.logger.warn({ version: bundle.version, connection: bad.name }, 'bundle rejected');
      return {
        version: bundle.version,
        error: `connection "${bad.name}": target does not match its protocol`,
      };
    }
    const parsed = bundle.policyDocument
      ? parsePolicy(bundle.policyDocument, `policy-v${bundle.policyVersion}.yaml`)
      : ({ ok: true, policy: DEFAULT_POLICY } as const);
    if (!parsed.ok) {
      this.logger.warn({ version: bundle.version, policyVersion: bundle.policyVersion }, 'bundle rejected');
      const error = `policy version ${bundle.policyVersion} does not validate: ${parsed.errors.map(formatPolicyError).join('; ')}`;
      // Fail closed: the gateway enforces that version now, so the previous one may not go on
      // deciding commands here. Sessions end and new ones are refused until a version that parses.
      this.policyRejected = true;
      this.sessions.policyUnusable(`this agent cannot evaluate the active policy (${error})`);
      return { version: bundle.version, error };
    }
    this.bundle = bundle;
    this.enforced = { version: bundle.policyVersion, policy: parsed.policy };
    this.policyRejected = false;
    // Sessions already open are decided by this version from their next command on.
    this.sessions.policyChanged(this.enforced, bundle);
    this.logger.info(
      {
        version: bundle.version,
        policyVersion: bundle.policyVersion,
        connections: bundle.connections.map((c) => c.name),
      },
      'bundle applied',
    );
    return { version: bundle.version, error: '' };
  }
}

const TARGET_CASES: Partial<Record<Protocol, string>> = {
  [Protocol.POSTGRES]: 'postgres',
  [Protocol.MYSQL]: 'mysql',
  [Protocol.SSH]: 'ssh',
  [Protocol.KUBERNETES]: 'kubernetes',
  [Protocol.HTTP]: 'http',
  [Protocol.TCP]: 'tcp',
};

function targetMatches(protocol: Protocol, targetCase: string | undefined): boolean {
  return TARGET_CASES[protocol] === targetCase;
}

function readCaFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new ConfigError([
      `--ca-file (or TOLLGATE_AGENT_CA_FILE): cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
}
