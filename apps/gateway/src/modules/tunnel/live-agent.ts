import { status as GrpcStatus, type ServerDuplexStream } from '@grpc/grpc-js';
import { CloseCode, type AgentMessage, type ControlErrorCode, type GatewayMessage } from '@tollgate/proto';
import type { AgentIdentity } from './agent-authenticator';
import type { AgentHolder, AgentInstanceInfo } from './agent-instance';

/** What a live session was opened with: the token id (`jti`, `apikey:<prefix>`, `sshkey:<id>`) and who. */
export interface SessionCredential {
  readonly tokenId: string;
  /** The subject and every actor of its chain. */
  readonly subjects: readonly string[];
}

export type ControlCall = ServerDuplexStream<AgentMessage, GatewayMessage>;

/** One agent instance's live Control stream on this replica, and the sessions it serves. */
export class LiveAgent {
  /** Sessions relayed by this agent: id → abort (ends both of the session's streams). */
  readonly sessions = new Map<string, (reason: string, code?: CloseCode) => void>();
  /**
   * Those sessions' interrupt (a client's cancel: the agent stops the running statement at the
   * target, the session goes on); false when the session is already ending.
   */
  readonly sessionInterrupts = new Map<string, (reason: string) => boolean>();
  /**
   * The credential each of those sessions was opened with: revoking it (or anything it was derived
   * from), or disabling its subject or an actor of its chain, ends the session.
   */
  readonly sessionTokens = new Map<string, SessionCredential>();
  /** Policy version of each bundle pushed on this stream (by bundle version), read when it is acked. */
  readonly pushedPolicyVersions = new BoundedMap<string, number>(8);
  /** Recomputes this agent's bundle and pushes it if it changed (set once registered). */
  pushBundle: () => Promise<void> = async () => undefined;
  private readonly goneListeners = new Set<() => void>();
  private gone = false;

  constructor(
    readonly identity: AgentIdentity,
    private readonly call: ControlCall,
    readonly connectedAt: Date,
    /** The agent process holding the stream: its instance id, host, address and version. */
    readonly instance: AgentInstanceInfo,
  ) {
    call.once('close', () => this.markGone());
  }

  get agentId(): string {
    return this.identity.agentId;
  }

  get name(): string {
    return this.identity.agentName;
  }

  get version(): string {
    return this.instance.version;
  }

  /** This stream as a refused second instance's audit record describes the holder. */
  holder(replica: string): AgentHolder {
    return { ...this.instance, connectedAt: this.connectedAt, lastSeenAt: this.lastSeenAt, replica };
  }

  /** When the agent last sent anything on the stream (heartbeats every 5 s). */
  lastSeenAt = new Date();

  get isGone(): boolean {
    return this.gone;
  }

  send(message: GatewayMessage): void {
    if (!this.gone && !this.call.writableEnded) this.call.write(message);
  }

  onGone(listener: () => void): () => void {
    if (this.gone) listener();
    else this.goneListeners.add(listener);
    return () => this.goneListeners.delete(listener);
  }

  /**
   * Ends the Control stream with a ControlError and a gRPC status, and aborts its sessions (their
   * clients hear `sessionCode`: the agent went away, or the gateway is shutting down).
   */
  close(
    code: ControlErrorCode,
    message: string,
    status: GrpcStatus = GrpcStatus.UNAVAILABLE,
    sessionCode: CloseCode = CloseCode.AGENT_DISCONNECTED,
  ): void {
    if (this.gone) return;
    this.send({ kind: { $case: 'error', error: { code, message, retryAfterMs: 0 } } });
    const reason =
      sessionCode === CloseCode.AGENT_DISCONNECTED ? `the agent connection was lost: ${message}` : message;
    for (const abort of [...this.sessions.values()]) abort(reason, sessionCode);
    this.call.emit('error', { code: status, details: message });
    this.markGone();
  }

  markGone(): void {
    if (this.gone) return;
    this.gone = true;
    for (const listener of this.goneListeners) listener();
    this.goneListeners.clear();
  }
}

/** A map that forgets its oldest entries beyond `limit`. */
class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: K, value: V): this {
    super.delete(key);
    super.set(key, value);
    while (this.size > this.limit) this.delete(this.keys().next().value as K);
    return this;
  }
}
