import { createServer, type Server, type Socket } from 'node:net';
import type { ConnectConfig } from '@tollgate/config';
import type { ClientTunnelWireClient, Protocol } from '@tollgate/proto';
import { openFailureRefusal, refuseSocket, relaySocket, resetSocket } from '@tollgate/protocol-tcp';
import { refusedClient, refuserFor, streamRefusal } from './refusers';
import {
  clientCodec,
  describeFailure,
  openTunnelSession,
  tunnelClient,
  type OpenOutcome,
} from './tunnel-session';

export interface LocalListener {
  readonly port: number;
  /**
   * What the client needs beside the listener's address (SSH: the local server's host key, so ssh
   * needs no confirmation), and how to say it to a person who types the client command themselves.
   */
  readonly client?: { readonly args: readonly string[]; readonly note: string };
  close(): Promise<void>;
}

export interface ListenerOptions {
  readonly connectionName: string;
  /** Local port to listen on (0 picks a free one). */
  readonly port: number;
  /**
   * The access token for the next session, asked for at every open: a saved login is re-read
   * (a fresh `tollgate login` counts at once) and refreshed before it expires, so `connect` runs
   * across token lifetimes. Sessions already open are not touched by a refresh.
   */
  readonly token: () => Promise<string>;
  readonly clientVersion: string;
  /**
   * The connection's protocol as the gateway said it at start-up, if it did: refusals before a
   * session opens (an expired login, an unreachable gateway) are said in it. Without it the client's
   * first bytes tell, which a server-speaks-first protocol (MySQL) never sends.
   */
  readonly protocol?: Protocol;
  /** One line per event the user should see (session opened, failed, ended with an error). */
  readonly report: (line: string) => void;
}

/**
 * `tollgate connect`: a loopback listener; every accepted socket becomes its own session (its own
 * ClientTunnel.Open stream on one shared HTTP/2 connection) relayed through gateway and agent.
 */
export async function startLocalListener(
  config: ConnectConfig,
  options: ListenerOptions,
): Promise<LocalListener> {
  const client = tunnelClient(config);
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    void serveSocket(client, socket, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    port,
    close: async () => {
      for (const socket of sockets) resetSocket(socket);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.close();
    },
  };
}

async function serveSocket(
  client: ClientTunnelWireClient,
  socket: Socket,
  options: ListenerOptions,
): Promise<void> {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  let token: string;
  try {
    token = await options.token();
  } catch (error) {
    // The login expired or was revoked beyond refreshing: the client hears it in its protocol.
    const message = error instanceof Error ? error.message : String(error);
    options.report(`${options.connectionName}: ${message}`);
    await refuseSocket(socket, refusedClient(options.protocol), { kind: 'unauthenticated', message });
    return;
  }
  let outcome: OpenOutcome;
  try {
    outcome = await openTunnelSession(client, {
      connectionName: options.connectionName,
      token,
      clientVersion: options.clientVersion,
      clientAddr: `${socket.remoteAddress}:${socket.remotePort}`,
    });
  } catch (error) {
    options.report(`${options.connectionName}: ${error instanceof Error ? error.message : String(error)}`);
    // An expired or revoked token, a gateway that cannot be reached: said in the client's protocol.
    await refuseSocket(socket, refusedClient(options.protocol), streamRefusal(error));
    return;
  }
  if (outcome.kind === 'failed') {
    const failed = outcome.failed;
    options.report(describeFailure(options.connectionName, failed));
    // A native client learns why in its own protocol wherever one can say it; otherwise a reset.
    const refusal = failed
      ? openFailureRefusal(failed.code, failed.message)
      : { kind: 'internal' as const, message: 'the gateway refused the session' };
    await refuseSocket(socket, refusedClient(failed?.protocol ?? options.protocol), refusal);
    return;
  }
  const { sessionId, agentName, protocol } = outcome.opened;
  options.report(`session ${sessionId} open via agent ${agentName}`);
  const relayed = await relaySocket(socket, outcome.call, clientCodec, refuserFor(protocol)?.watch());
  if (relayed.kind === 'normal') options.report(`session ${sessionId} closed`);
  else options.report(`session ${sessionId} ended: ${relayed.message}`);
}
