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
import { ConnectionIds, type KillableSession } from '../proxy/connection-ids';
import type { CommandGate, StatementOutcome } from '../proxy/command-gate';
import { runMysqlSession } from '../proxy/mysql-session';
import type { MysqlTargetSettings } from '../proxy/target-settings';

export interface MysqlEngineOptions {
  /** Resolves the connection's credential reference (env:/file:) on the agent. */
  readonly resolveSecret: (reference: string) => string;
}

/**
 * The MySQL/MariaDB engine on the agent: checks the target answers when the session opens (so the
 * caller hears "target unreachable" at once), then runs the protocol-aware session over the tunnel
 * stream: the server handshake toward the client, the login to the target with the connection's
 * credential, and every command through the policy gate. Ending the session (kill, revoke) stops the
 * statement on the server with KILL QUERY on a side connection, then closes both legs.
 */
export class MysqlEngine implements RelayEngine {
  readonly protocol = Protocol.MYSQL;
  /** An exec session runs one COM_QUERY (`tollgate exec`), then only COM_QUIT. */
  readonly runsExec = true;

  /** The connection ids this engine's sessions were greeted with (a client's KILL names one). */
  private readonly ids = new ConnectionIds();

  constructor(private readonly options: MysqlEngineOptions) {}

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
      // A KILL reaches only sessions of the same subject on the same connection.
      ids: {
        registry: this.ids,
        owner: JSON.stringify([options.session?.context?.subject ?? '', spec.name]),
        ...(options.session?.context?.clientConnectionId
          ? { wanted: options.session.context.clientConnectionId }
          : {}),
        ...(options.session ? { session: options.session.sessionId } : {}),
      },
    };
    let abort: (() => void) | undefined;
    let killable: KillableSession | undefined;
    return {
      relay: async <In, Out>(stream: FrameStream<Out>, codec: FrameCodec<In, Out>): Promise<RelayOutcome> => {
        const client = frameStreamDuplex(stream, codec);
        abort = () => client.destroy(new Error('the session was ended by the gateway'));
        await runMysqlSession(client, { target, ...services, onKillable: (session) => (killable = session) });
        return { kind: 'normal' };
      },
      // The session sends KILL QUERY for a statement in flight when its client goes away.
      abort: () => abort?.(),
      // A KILL QUERY through the gateway's listener: the statement in flight is stopped (KILL QUERY
      // on a side connection) and its result records `reason`; the session goes on.
      interrupt: (reason: string) => killable?.killQuery(reason),
    };
  }

  private targetSettings(spec: ConnectionSpec, connectTimeoutMs: number): MysqlTargetSettings {
    if (spec.target?.$case !== 'mysql') {
      throw new TargetUnreachableError(`connection "${spec.name}" has no mysql target`);
    }
    const my = spec.target.mysql;
    const secret = (reference: string) => targetSecret(this.options.resolveSecret, reference);
    const mode = targetTlsMode(my.tls?.mode);
    const ca = targetCa(my.tls, this.options.resolveSecret);
    return {
      host: my.host,
      port: my.port || 3306,
      database: my.database,
      username: my.username,
      ...(spec.credentialRef ? { password: secret(spec.credentialRef) } : {}),
      tls: { mode, ...(ca ? { ca } : {}) },
      connectTimeoutMs,
    };
  }
}

/** Adapts the agent's command port to the session: the classifier's facts are the policy's facts. */
function commandGate(commands: CommandPort): CommandGate {
  return {
    decide: (command, notify) =>
      commands.decide(
        command.text,
        command.classification.ok
          ? { kind: 'sql', statements: command.classification.statements }
          : {
              kind: 'sql',
              statements: [],
              parseError: command.classification.error,
              ...(command.classification.mayStore ? { unparsedMayStore: true as const } : {}),
            },
        notify,
      ),
  };
}
