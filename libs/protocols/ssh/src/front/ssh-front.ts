import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server, type Connection, type ServerChannel } from 'ssh2';
import { MuxClient } from '../mux/mux-peer';
import { coalesceWrites, sshSocket } from './coalesce-writes';
import { bridgeConnection, type SessionGovernor } from '../bridge/session-bridge';
import { SERVER_ALGORITHMS } from './server-algorithms';
import { installSsh2CipherKeys } from '../transport/ssh2-cipher-keys';
import { releaseHandshakeState } from '../transport/ssh2-handshake-state';

export interface SshFrontOptions {
  /** The host key local clients see (see loadOrCreateHostKey). */
  readonly hostKey: string;
  /** Local port (0 picks a free one); the front listens on 127.0.0.1 only. */
  readonly port: number;
  /**
   * Opens a Tollgate session for one client connection and resolves with its byte stream to the
   * agent's SSH engine; rejects with an Error whose message the client is shown.
   */
  readonly openSession: (clientAddress: string) => Promise<Duplex>;
  /** How long to wait for the agent's side of the session to answer (default 30 s). */
  readonly readyTimeoutMs?: number;
}

export interface SshFront {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The user's side of a session: everything passes to the agent's engine, which decides. X11, agent
 * and Unix-socket forwarding cannot be relayed from here (they need a listener on the client's side),
 * so they are refused at once, after the engine has been told and has recorded the attempt.
 */
export function governedByEngine(engine: MuxClient): SessionGovernor {
  return {
    acceptsEnv: () => true,
    decide: () => Promise.resolve({ allow: true }),
    forwarding: async (request) => {
      if (request.kind === 'x11' || request.kind === 'auth-agent' || request.kind === 'streamlocal') {
        await engine.reportRefused(request);
        return { allow: false, message: `${request.kind} forwarding is not relayed by Tollgate` };
      }
      return { allow: true };
    },
  };
}

/**
 * `tollgate connect` for SSH: a local SSH server on loopback that any OpenSSH client (ssh, scp,
 * sftp) reaches with no secret. Each client connection opens its own Tollgate session; the front
 * mirrors the client's channels and requests to the agent's engine over it (Tollgate's channel
 * multiplexer, see mux-frames), where policy decides them.
 */
export async function startSshFront(options: SshFrontOptions): Promise<SshFront> {
  installSsh2CipherKeys();
  const connections = new Set<Connection>();
  const server = new Server(
    { hostKeys: [options.hostKey], ident: 'Tollgate', algorithms: SERVER_ALGORITHMS },
    (connection, info) => {
      connections.add(connection);
      // Interactive traffic: no Nagle delay on keystroke echoes (see connectTarget).
      // (ssh2's server-side Connection has setNoDelay; @types/ssh2 lists it on Client only.)
      (connection as unknown as { setNoDelay(noDelay: boolean): void }).setNoDelay(true);
      const socket = sshSocket(connection);
      if (socket) coalesceWrites(socket);
      connection.on('close', () => connections.delete(connection));
      connection.on('error', () => undefined);
      connection.on('handshake', () => releaseHandshakeState(connection));
      const inner = options
        .openSession(`${info.ip}:${info.port}`)
        .then((stream) => connectEngine(stream, options.readyTimeoutMs ?? 30_000));
      inner.catch(() => undefined);
      // Authentication waits for the session, so the channels that follow can be served at once.
      let refusal: string | undefined;
      let target: MuxClient | undefined;
      connection.on('authentication', (context) => {
        inner.then(
          (client) => {
            target = client;
            client.on('close', () => connection.end());
            context.accept();
          },
          (error: unknown) => {
            refusal = error instanceof Error ? error.message : String(error);
            context.accept();
          },
        );
      });
      connection.on('ready', () => {
        if (target) bridgeConnection(connection, target, governedByEngine(target));
        else refuseChannels(connection, refusal ?? 'the session could not be opened');
      });
      connection.on('close', () => {
        target?.end();
        void inner.then(
          (client) => client.end(),
          () => undefined,
        );
      });
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const connection of connections) connection.end();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * The user's side of the session's stream to the agent's SSH engine: Tollgate's channel
 * multiplexer (see mux-frames), resolved once the engine answered (its target connection is up).
 * The user's SSH is decrypted once here and the target's once at the agent; nothing in between
 * speaks SSH.
 */
export async function connectEngine(stream: Duplex, readyTimeoutMs: number): Promise<MuxClient> {
  const client = new MuxClient(stream);
  try {
    await client.start(readyTimeoutMs);
  } catch (error) {
    stream.destroy();
    throw new Error(
      `the session ended before SSH started: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return client;
}

/** Tells an SSH client why there is no session: on stderr, with exit status 1, for every request. */
function refuseChannels(connection: Connection, message: string): void {
  connection.on('session', (accept) => {
    const session = accept();
    const refuse = (acceptChannel: () => ServerChannel) => {
      const channel = acceptChannel();
      channel.stderr.write(`tollgate: ${message}\r\n`);
      channel.exit(1);
      channel.end();
    };
    session.on('shell', refuse);
    session.on('exec', refuse);
    session.on('subsystem', refuse);
    session.on('pty', (ok?: () => void) => ok?.());
    session.on('env', (ok?: () => void) => ok?.());
  });
}
