import { createServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { credentials, Metadata, type ChannelCredentials } from '@grpc/grpc-js';
import type { ConnectConfig } from '@tollgate/config';
import {
  ClientTunnelClient,
  OpenFailureCode,
  Protocol,
  type ClientDown,
  type ClientUp,
} from '@tollgate/proto';
import { relaySocket, type FrameCodec } from '@tollgate/protocol-tcp';
import { refusePostgresClient } from './postgres-refusal';
import { readOpenResult } from './read-open-result';

const clientCodec: FrameCodec<ClientDown, ClientUp> = {
  wrap: (frame) => ({ kind: { $case: 'frame', frame } }),
  unwrap: (message) => {
    switch (message.kind?.$case) {
      case 'frame':
        return { frame: message.kind.frame };
      case 'close':
        return { closeReason: message.kind.close.reason };
      default:
        return undefined;
    }
  },
};

const FAILURES: Record<OpenFailureCode, string> = {
  [OpenFailureCode.UNSPECIFIED]: 'failed',
  [OpenFailureCode.NOT_FOUND]: 'not found',
  [OpenFailureCode.AGENT_OFFLINE]: 'agent offline',
  [OpenFailureCode.TARGET_UNREACHABLE]: 'target unreachable',
  [OpenFailureCode.DENIED]: 'denied',
  [OpenFailureCode.INTERNAL]: 'internal error',
  [OpenFailureCode.UNRECOGNIZED]: 'failed',
};

export interface LocalListener {
  readonly port: number;
  close(): Promise<void>;
}

export interface ListenerOptions {
  readonly connectionName: string;
  readonly token: string;
  readonly clientVersion: string;
  /** One line per event the user should see (session opened, failed, ended with an error). */
  readonly report: (line: string) => void;
}

function channelCredentials(config: ConnectConfig): ChannelCredentials {
  if (!config.grpcUrl.tls) return credentials.createInsecure();
  return credentials.createSsl(config.caFile ? readFileSync(config.caFile) : null);
}

/**
 * `tollgate connect`: a loopback listener; every accepted socket becomes its own session (its own
 * ClientTunnel.Open stream on one shared HTTP/2 connection) relayed through gateway and agent.
 */
export async function startLocalListener(
  config: ConnectConfig,
  options: ListenerOptions,
): Promise<LocalListener> {
  const client = new ClientTunnelClient(config.grpcUrl.address, channelCredentials(config), {
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
    // Per-stream HTTP/2 receive window (the default 64 KiB caps a session at tens of MB/s).
    'grpc-node.flow_control_window': 4 * 1024 * 1024,
  });
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    void serveSocket(client, socket, options);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return {
    port,
    close: async () => {
      for (const socket of sockets) socket.resetAndDestroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      client.close();
    },
  };
}

async function serveSocket(
  client: ClientTunnelClient,
  socket: Socket,
  options: ListenerOptions,
): Promise<void> {
  socket.setNoDelay(true);
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${options.token}`);
  const call = client.open(metadata);
  call.on('error', () => undefined);
  socket.on('error', () => undefined);
  call.write({
    kind: {
      $case: 'openRequest',
      openRequest: {
        connectionName: options.connectionName,
        clientAddr: `${socket.remoteAddress}:${socket.remotePort}`,
        clientVersion: options.clientVersion,
      },
    },
  });
  let sessionId: string;
  try {
    const result = await readOpenResult(call);
    if (result.result?.$case !== 'opened') {
      const failed = result.result?.$case === 'failed' ? result.result.failed : undefined;
      options.report(
        `${options.connectionName}: ${FAILURES[failed?.code ?? OpenFailureCode.UNSPECIFIED]}: ${failed?.message ?? 'no detail'}`,
      );
      call.end();
      // A native client learns why in its own protocol where the CLI knows it; otherwise a reset.
      if (failed?.protocol === Protocol.POSTGRES) refusePostgresClient(socket, failed.code, failed.message);
      else socket.resetAndDestroy();
      return;
    }
    sessionId = result.result.opened.sessionId;
    options.report(`session ${sessionId} open via agent ${result.result.opened.agentName}`);
  } catch (error) {
    options.report(`${options.connectionName}: ${error instanceof Error ? error.message : String(error)}`);
    socket.resetAndDestroy();
    call.cancel();
    return;
  }
  const outcome = await relaySocket(socket, call, clientCodec);
  if (outcome.kind === 'normal') options.report(`session ${sessionId} closed`);
  else options.report(`session ${sessionId} ended: ${outcome.message}`);
}
