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
import { Server, type Client, type Connection } from 'ssh2';
import { generateEd25519KeyPair } from '../keys/ed25519-key-pair';
import { MuxConnection } from '../mux/mux-peer';
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
 * connection's credential (the host key held to its pin), then serves the session's tunnel stream:
 * the caller's side (`tollgate connect`, `tollgate exec`, or the gateway's listener) relays the
 * user's channels and requests over it with Tollgate's channel multiplexer (mux-frames), and every
 * channel request is decided by policy and recorded before it is replayed on the target connection.
 *
 * The session stream needs no authentication or encryption of its own: the gateway authorized the
 * session and routed it here over the agent's authenticated tunnel.
 */
export class SshEngine implements RelayEngine {
  readonly protocol = Protocol.SSH;
  readonly runsExec = true;
  constructor(private readonly options: SshEngineOptions) {}

  async open(spec: ConnectionSpec, options: EngineOpenOptions): Promise<EngineSession> {
    const commands = options.commands;
    // Without a policy path the engine would run commands unchecked: refuse instead (fail closed).
    if (!commands) throw new TargetUnreachableError('the agent has no policy path for this session');
    const settings = sshTargetSettings(spec, this.options.resolveSecret);
    const target = await connectTarget(settings, this.options.pins, options.connectTimeoutMs);
    // An exec session (`tollgate exec`) runs one exec request and nothing else.
    const governor = policyGovernor(commands, {
      execOnly: options.verb === 'exec',
      startDirectory: startDirectoryOf(target),
    });
    let client: Duplex | undefined;
    return {
      relay: async <In, Out>(stream: FrameStream<Out>, codec: FrameCodec<In, Out>): Promise<RelayOutcome> => {
        client = frameStreamDuplex(stream, codec);
        await serveSession(client, target, governor);
        return { kind: 'normal' };
      },
      // Through the session stream's end when it runs, so running commands are ended first (hangUp).
      abort: () => {
        if (client) client.destroy(new Error('the session was ended by the gateway'));
        else target.end();
      },
    };
  }
}

/**
 * Serves the user's channels from the session stream until the caller's side or the target goes away.
 * Tollgate's own user side speaks the multiplexer (its frames start with a zero byte). A client whose
 * SSH reaches the stream byte for byte (`tollgate connect` relaying plain TCP when it could not look
 * the connection's protocol up, an older CLI) starts with its `SSH-2.0-` banner instead, and is served
 * as an SSH server, as before the multiplexer: the same bridge, governor, recording and audit.
 */
async function serveSession(client: Duplex, target: Client, governor: SessionGovernor): Promise<void> {
  const first = await firstChunk(client);
  if (first === undefined) {
    target.end();
    return;
  }
  if (first[0] === 0x53 /* 'S' of SSH-2.0- */) return serveSshServer(client, target, governor);
  return serveMux(client, target, governor);
}

/** The stream's first chunk, put back for whoever reads the stream next; undefined if it ended. */
function firstChunk(stream: Duplex): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      stream.off('close', onClose);
      stream.pause();
      stream.unshift(chunk);
      resolve(chunk);
    };
    const onClose = () => {
      stream.off('data', onData);
      resolve(undefined);
    };
    stream.once('data', onData);
    stream.once('close', onClose);
  });
}

let rawHostKey: string | undefined;

/**
 * An SSH server on the session stream for a client relayed byte for byte. It needs no authentication
 * of its own (the gateway authorized the session and routed it here over the agent's authenticated
 * tunnel), so its host key is made once per process.
 */
function serveSshServer(client: Duplex, target: Client, governor: SessionGovernor): Promise<void> {
  rawHostKey ??= generateEd25519KeyPair().private;
  const hostKey = rawHostKey;
  return new Promise<void>((resolve) => {
    let bridge: Bridge | undefined;
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
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
    client.resume();
  });
}

function serveMux(client: Duplex, target: Client, governor: SessionGovernor): Promise<void> {
  return new Promise<void>((resolve) => {
    let bridge: Bridge | undefined;
    let ended = false;
    const connection = new MuxConnection(client);
    client.resume(); // paused by firstChunk
    const done = () => {
      if (ended) return;
      ended = true;
      bridge?.hangUp();
      target.end();
      connection.destroy();
      resolve();
    };
    target.once('close', done);
    connection.once('close', done);
    // The bridge serves the multiplexer's channels as it would an ssh2 server connection's.
    connection.once(
      'ready',
      () => (bridge = bridgeConnection(connection as unknown as Connection, target, governor)),
    );
  });
}

/**
 * The target's start directory (where an exec runs: the login's home), asked once per session as
 * SFTP's REALPATH "." on a channel of the agent's own; undefined when the server has no SFTP.
 */
function startDirectoryOf(target: Client): () => Promise<string | undefined> {
  let asked: Promise<string | undefined> | undefined;
  return () =>
    (asked ??= new Promise<string | undefined>((resolve) => {
      try {
        target.sftp((error, sftp) => {
          if (error) return resolve(undefined);
          sftp.realpath('.', (failed, path) => {
            sftp.end();
            resolve(failed ? undefined : path);
          });
        });
      } catch {
        resolve(undefined);
      }
    }));
}
