import type { Masker } from '@tollgate/masking';
import { Protocol, TlsMode, type ConnectionSpec, type OpenSession } from '@tollgate/proto';
import {
  dialTcpTarget,
  TargetUnreachableError,
  type EngineSession,
  type FrameCodec,
  type FrameStream,
  type RelayEngine,
  type RelayOutcome,
} from '@tollgate/protocol-tcp';
import { CancelRegistry } from '../proxy/cancel-registry';
import type { CommandGate, StatementOutcome } from '../proxy/command-gate';
import { runPostgresSession } from '../proxy/postgres-session';
import type { PostgresTargetSettings } from '../proxy/target-settings';
import { frameStreamDuplex } from './frame-stream.duplex';

/** What a session needs from the agent: the policy gate (with durable audit), masking, and a sink for outcomes. */
export interface PostgresSessionServices {
  readonly gate: CommandGate;
  readonly masker: Masker;
  readonly onStatement?: (outcome: StatementOutcome) => void;
}

export interface PostgresEngineOptions {
  /** Builds the services for one session from the connection and the session the gateway opened. */
  readonly servicesFor: (spec: ConnectionSpec, session: OpenSession | undefined) => PostgresSessionServices;
  /** Resolves the connection's credential reference (env:/file:) on the agent. */
  readonly resolveSecret: (reference: string) => string;
}

const TLS_MODES: Partial<Record<TlsMode, PostgresTargetSettings['tls']['mode']>> = {
  [TlsMode.DISABLE]: 'disable',
  [TlsMode.PREFER]: 'prefer',
  [TlsMode.REQUIRE]: 'require',
  [TlsMode.VERIFY_CA]: 'verify-ca',
  [TlsMode.VERIFY_FULL]: 'verify-full',
};

/**
 * The PostgreSQL engine on the agent: checks the target answers when the session opens (so the
 * caller hears "target unreachable" at once), then runs the protocol-aware session over the tunnel
 * stream: local start-up, target authentication with the connection's credential, and every
 * statement through the policy gate.
 */
export class PostgresEngine implements RelayEngine {
  readonly protocol = Protocol.POSTGRES;
  private readonly cancels = new CancelRegistry();

  constructor(private readonly options: PostgresEngineOptions) {}

  async open(
    spec: ConnectionSpec,
    options: { readonly connectTimeoutMs: number; readonly session?: OpenSession },
  ): Promise<EngineSession> {
    const target = this.targetSettings(spec, options.connectTimeoutMs);
    const probe = await dialTcpTarget({ host: target.host, port: target.port }, options.connectTimeoutMs);
    probe.destroy();
    const services = this.options.servicesFor(spec, options.session);
    let abort: (() => void) | undefined;
    return {
      relay: async <In, Out>(stream: FrameStream<Out>, codec: FrameCodec<In, Out>): Promise<RelayOutcome> => {
        const client = frameStreamDuplex(stream, codec);
        abort = () => client.destroy(new Error('the session was ended by the gateway'));
        await runPostgresSession(client, { target, cancels: this.cancels, ...services });
        return { kind: 'normal' };
      },
      abort: () => abort?.(),
    };
  }

  private targetSettings(spec: ConnectionSpec, connectTimeoutMs: number): PostgresTargetSettings {
    if (spec.target?.$case !== 'postgres') {
      throw new TargetUnreachableError(`connection "${spec.name}" has no postgres target`);
    }
    const pg = spec.target.postgres;
    const secret = (reference: string) => {
      try {
        return this.options.resolveSecret(reference);
      } catch (error) {
        // The message names the reference, never a value.
        throw new TargetUnreachableError(error instanceof Error ? error.message : String(error));
      }
    };
    const mode = TLS_MODES[pg.tls?.mode ?? TlsMode.UNSPECIFIED] ?? 'verify-full';
    return {
      host: pg.host,
      port: pg.port || 5432,
      database: pg.database || pg.username,
      username: pg.username,
      ...(spec.credentialRef ? { password: secret(spec.credentialRef) } : {}),
      tls: { mode, ...(pg.tls?.caRef ? { ca: secret(pg.tls.caRef) } : {}) },
      connectTimeoutMs,
    };
  }
}
