import type { ConnectionSpec, OpenSession, Protocol } from '@tollgate/proto';
import type { CommandPort } from './command-port';
import type { FrameCodec } from './frame-codec';
import type { FrameStream, RelayOutcome } from './socket-relay';

/**
 * The contract every protocol engine implements on the agent (tcp today; postgres, mysql, ssh,
 * kubernetes and http plug in by protocol): open the target, relay the session's frames, and report
 * failures in the protocol's own way. The agent keeps a registry of engines keyed by protocol.
 */
export interface RelayEngine {
  readonly protocol: Protocol;
  /**
   * Whether the engine runs `exec` sessions: one request (for PostgreSQL, one simple Query), then
   * the session ends. An engine without it is offered `connect` sessions only; the agent refuses an
   * exec session for it rather than relay it as an interactive one.
   */
  readonly runsExec?: boolean;
  /** Reaches the target; rejects with TargetUnreachableError with a message for the caller. */
  open(spec: ConnectionSpec, options: EngineOpenOptions): Promise<EngineSession>;
}

export interface EngineOpenOptions {
  readonly connectTimeoutMs: number;
  /** The session the gateway opened: who it is for and under which policy version. */
  readonly session?: OpenSession;
  /** The policy and audit path for command-aware engines. */
  readonly commands?: CommandPort;
  /** What the gateway authorized the session for (default `connect`); see `runsExec`. */
  readonly verb?: 'connect' | 'exec';
}

export interface EngineSession {
  /** Relays until the session ends; ends the stream's writing half when done. */
  relay<In, Out>(stream: FrameStream<Out>, codec: FrameCodec<In, Out>): Promise<RelayOutcome>;
  /**
   * Ends the session from outside (kill, revoked token, expired grant, policy change, shutdown):
   * the engine stops forwarding, ends the work at the target in its protocol's way (PostgreSQL:
   * a CancelRequest for the running statement, its outcome recorded), then closes the target
   * connection and the stream. `reason` is recorded with what was interrupted.
   */
  abort(reason?: string): void;
  /**
   * A client's cancel that reached the gateway (SessionInterrupt): stops what the session runs at
   * the target now, as the protocol's own cancel would (PostgreSQL: a CancelRequest with the
   * backend's real key for the statement in flight), and records `reason` with the statement's
   * result; the session goes on. Nothing running: nothing happens. Engines without it ignore it.
   */
  interrupt?(reason: string): void;
}
