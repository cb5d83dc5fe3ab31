import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Protocol, type ConnectionSpec } from '@tollgate/proto';
import {
  frameStreamDuplex,
  TargetUnreachableError,
  type EngineOpenOptions,
  type EngineSession,
  type FrameCodec,
  type FrameStream,
  type RelayEngine,
  type RelayOutcome,
} from '@tollgate/protocol-tcp';
import { Server, utils, type Client, type Connection } from 'ssh2';
import { bridgeConnection, type Bridge, type SessionGovernor } from '../bridge/session-bridge';
import type { HostKeyPins } from '../target/host-key-pins';
import { sshTargetSettings } from '../target/ssh-target-settings';
import { connectTarget } from '../target/target-client';
import { policyGovernor } from './policy-governor';

export interface SshEngineOptions {
  /** Resolves the connection's credential references (env:/file:) on the agent. */
  readonly resolveSecret: (reference: string) => string;
  /** Where host keys learned by trust on first use are kept. */
  readonly pins: HostKeyPins;
}

/**
 * The SSH engine on the agent. When a session opens it connects to the target with the
 * connection's credential (the host key held to its pin), then serves the session's tunnel stream
 * as an SSH server: the caller's side (`tollgate connect`, or the gateway's listener) speaks SSH
 * to it inside the session, and every channel request is decided by policy and recorded before it
 * is replayed on the target connection.
 *
 * The inner hop needs no authentication of its own (the gateway authorized the session and routed
 * it here over the agent's authenticated tunnel), so its host key is made per process.
 */
export class SshEngine implements RelayEngine {
  readonly protocol = Protocol.SSH;
  readonly runsExec = true;
  private hostKey: string | undefined;

  constructor(private readonly options: SshEngineOptions) {}

  async open(spec: ConnectionSpec, options: EngineOpenOptions): Promise<EngineSession> {
    const commands = options.commands;
    // Without a policy path the engine would run commands unchecked: refuse instead (fail closed).
    if (!commands) throw new TargetUnreachableError('the agent has no policy path for this session');
    const settings = sshTargetSettings(spec, this.options.resolveSecret);
    const target = await connectTarget(settings, this.options.pins, options.connectTimeoutMs);
    // An exec session (`tollgate exec`) runs one exec request and nothing else.
    const governor = policyGovernor(commands, { execOnly: options.verb === 'exec' });
    let client: Duplex | undefined;
    return {
      relay: async <In, Out>(stream: FrameStream<Out>, codec: FrameCodec<In, Out>): Promise<RelayOutcome> => {
        client = frameStreamDuplex(stream, codec);
        await serveInnerHop(client, this.innerHostKey(), target, governor);
        return { kind: 'normal' };
      },
      // Through the inner hop's end when it runs, so running commands are ended first (hangUp).
      abort: () => {
        if (client) client.destroy(new Error('the session was ended by the gateway'));
        else target.end();
      },
    };
  }

  private innerHostKey(): string {
    this.hostKey ??= utils.generateKeyPairSync('ed25519').private;
    return this.hostKey;
  }
}

/** Runs the SSH server side of the inner hop until the caller's side or the target goes away. */
function serveInnerHop(
  client: Duplex,
  hostKey: string,
  target: Client,
  governor: SessionGovernor,
): Promise<void> {
  return new Promise<void>((resolve) => {
    let bridge: Bridge | undefined;
    const done = () => {
      bridge?.hangUp();
      target.end();
      client.destroy();
      resolve();
    };
    target.once('close', done);
    client.once('close', done);
    const server = new Server({ hostKeys: [hostKey] }, (connection: Connection) => {
      connection.on('error', () => connection.end());
      connection.on('authentication', (context) => context.accept());
      connection.on('ready', () => (bridge = bridgeConnection(connection, target, governor)));
      connection.on('close', done);
    });
    server.injectSocket(client as Socket);
  });
}
