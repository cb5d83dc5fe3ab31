import { Masker } from '@tollgate/masking';
import { Protocol, type ConnectionSpec } from '@tollgate/proto';
import {
  dialTcpTarget,
  frameStreamDuplex,
  TargetUnreachableError,
  targetCa,
  targetSecret,
  targetTlsMode,
  type CommandPort,
  type EngineOpenOptions,
  type EngineSession,
  type FrameCodec,
  type FrameStream,
  type RelayEngine,
  type RelayOutcome,
} from '@tollgate/protocol-tcp';
import { CancelRegistry, StatementInterrupts } from '../proxy/cancel-registry';
import type { CommandGate, StatementOutcome } from '../proxy/command-gate';
import { runPostgresSession } from '../proxy/postgres-session';
import type { PostgresTargetSettings } from '../proxy/target-settings';

export interface PostgresEngineOptions {
  /** Resolves the connection's credential reference (env:/file:) on the agent. */
  readonly resolveSecret: (reference: string) => string;
}

/**
 * The PostgreSQL engine on the agent: checks the target answers when the session opens (so the
 * caller hears "target unreachable" at once), then runs the protocol-aware session over the tunnel
 * stream: local start-up, target authentication with the connection's credential, and every
 * statement through the policy gate.
 */
export class PostgresEngine implements RelayEngine {
  readonly protocol = Protocol.POSTGRES;
  /** An exec session runs one simple Query (`tollgate exec`), then only Terminate. */
  readonly runsExec = true;
  private readonly cancels = new CancelRegistry();

  constructor(private readonly options: PostgresEngineOptions) {}

  async open(spec: ConnectionSpec, options: EngineOpenOptions): Promise<EngineSession> {
    const commands = options.commands;
    // Without a policy path the engine would forward commands unchecked: refuse instead (fail closed).
    if (!commands) throw new TargetUnreachableError('the agent has no policy path for this session');
    const target = this.targetSettings(spec, options.connectTimeoutMs);
    const probe = await dialTcpTarget({ host: target.host, port: target.port }, options.connectTimeoutMs);
    probe.destroy();
    const services = {
      gate: commandGate(commands),
      masker: Masker.compile([commands.masking]),
      onStatement: (outcome: StatementOutcome) => commands.report({ ...outcome, command: outcome.text }),
      exec: options.verb === 'exec',
    };
    const ending = new AbortController();
    const interrupts = new StatementInterrupts();
    return {
      relay: async <In, Out>(stream: FrameStream<Out>, codec: FrameCodec<In, Out>): Promise<RelayOutcome> => {
        const client = frameStreamDuplex(stream, codec);
        await runPostgresSession(client, {
          target,
          cancels: this.cancels,
          signal: ending.signal,
          interrupts,
          ...services,
        });
        return { kind: 'normal' };
      },
      // The running statement is cancelled at the target and recorded, then the session ends.
      abort: (reason = 'the session was ended by the gateway') => ending.abort(reason),
      // A client's cancel through the gateway: as the CancelRequest the client would have sent.
      interrupt: (reason: string) => interrupts.interrupt(reason),
    };
  }

  private targetSettings(spec: ConnectionSpec, connectTimeoutMs: number): PostgresTargetSettings {
    if (spec.target?.$case !== 'postgres') {
      throw new TargetUnreachableError(`connection "${spec.name}" has no postgres target`);
    }
    const pg = spec.target.postgres;
    const secret = (reference: string) => targetSecret(this.options.resolveSecret, reference);
    const mode = targetTlsMode(pg.tls?.mode);
    const ca = targetCa(pg.tls, this.options.resolveSecret);
    return {
      host: pg.host,
      port: pg.port || 5432,
      database: pg.database || pg.username,
      username: pg.username,
      ...(spec.credentialRef ? { password: secret(spec.credentialRef) } : {}),
      tls: { mode, ...(ca ? { ca } : {}) },
      connectTimeoutMs,
    };
  }
}

/** Adapts the agent's command port to the session engine: the classifier's facts are the policy's facts. */
function commandGate(commands: CommandPort): CommandGate {
  return {
    decide: (command, notify) =>
      commands.decide(
        command.text,
        command.classification.ok
          ? { kind: 'sql', statements: command.classification.statements }
          : { kind: 'sql', statements: [], parseError: command.classification.error },
        notify,
      ),
  };
}
