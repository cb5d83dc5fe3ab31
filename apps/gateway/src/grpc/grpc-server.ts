import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { Http2Server, ServerHttp2Session } from 'node:http2';
import {
  AgentTunnelRelayWire,
  AgentTunnelService,
  ClientTunnelRelayWire,
  ClientTunnelService,
  HealthCheckResponse_ServingStatus,
  HealthService,
  installInPlaceGrpcFraming,
  tuneHeapForRelaying,
} from '@tollgate/proto';
import type { Logger } from 'pino';
import { addressInUse } from '../common/errors/address-in-use';
import { HealthGrpcService } from './health.grpc-service';

/**
 * HTTP/2 per-stream receive window. Node's default (64 KiB) caps a tunnel session at one window per
 * round trip (tens of MB/s); 4 MiB keeps a fast session streaming across three hops while a slow
 * reader can still make each hop buffer only about one window per session.
 */
export const TUNNEL_STREAM_WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * grpc-js has an option for the client's window (`grpc-node.flow_control_window`) but none for the
 * server's, so the SETTINGS it hands to http2.createServer are extended before binding.
 */
function widenStreamWindows(server: Server, bytes: number): void {
  const internals = server as unknown as { commonServerOptions?: { settings?: Record<string, unknown> } };
  if (!internals.commonServerOptions) return;
  internals.commonServerOptions.settings = {
    ...internals.commonServerOptions.settings,
    initialWindowSize: bytes,
    // Agents may send a 64 KiB tunnel frame as one HTTP/2 DATA frame instead of four.
    maxFrameSize: 256 * 1024,
  };
}

function serverCredentials(tls?: { readonly certFile: string; readonly keyFile: string }): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(null, [
    { cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) },
  ]);
}

/** HTTP/2 connection receive window: shared by every session of one agent or CLI. */
export const TUNNEL_CONNECTION_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * Node starts each HTTP/2 connection with a 64 KiB receive window, which every session of an agent
 * shares; grpc-js widens it on the client side only. Widened here on each new server session.
 */
function widenConnectionWindows(server: Server, bytes: number): void {
  const internals = server as unknown as { http2Servers?: Map<Http2Server, unknown> };
  for (const http2Server of internals.http2Servers?.keys() ?? []) {
    http2Server.on('session', (session: ServerHttp2Session) => {
      session.once('localSettings', () => session.setLocalWindowSize(bytes));
    });
  }
}

/**
 * The tunnel services are served with the relay codecs: a data frame crosses the gateway as the
 * bytes it arrived as (one tag byte rewritten), never decoded into an object and encoded again;
 * every other message is decoded as usual. The session relay handles both forms.
 */
const SERVED_WIRE = new Map<ServiceDefinition, ServiceDefinition>([
  [ClientTunnelService, ClientTunnelRelayWire],
  [AgentTunnelService, AgentTunnelRelayWire],
]);

export interface RunningGrpcServer {
  readonly address: string;
  /** Adds a service once its implementation exists (the tunnel services live in the Nest app). */
  addService(definition: ServiceDefinition, implementation: UntypedServiceImplementation): void;
  /** Marks the gateway NOT_SERVING, lets calls finish for up to `graceMs`, then cuts the rest. */
  close(graceMs: number): Promise<void>;
}

/**
 * The gateway's gRPC endpoint for agents and clients. Keepalive pings detect dead peers on long-lived
 * streams (an agent's control stream lives for days).
 */
export async function startGrpcServer(
  host: string,
  port: number,
  logger: Logger,
  tls?: { readonly certFile: string; readonly keyFile: string },
): Promise<RunningGrpcServer> {
  // Relayed data frames leave without being copied into a new buffer (see grpc-in-place-framing).
  installInPlaceGrpcFraming();
  // The gateway relays every session's frames too (and holds the API and the store besides).
  tuneHeapForRelaying();
  const server = new Server({
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
  });
  widenStreamWindows(server, TUNNEL_STREAM_WINDOW_BYTES);
  const health = new HealthGrpcService();
  server.addService(HealthService, health.handlers());

  const bindHost = host.includes(':') ? `[${host}]` : host;
  const boundPort = await new Promise<number>((resolve, reject) =>
    // Agents and clients refuse plain text to anything but loopback, so a gateway reachable from
    // elsewhere is configured with a certificate.
    server.bindAsync(`${bindHost}:${port}`, serverCredentials(tls), (error, actual) =>
      error
        ? reject(
            addressInUse(
              error,
              'gRPC listener',
              `${bindHost}:${port}`,
              '--grpc-port (or TOLLGATE_GRPC_PORT)',
            ),
          )
        : resolve(actual),
    ),
  );
  widenConnectionWindows(server, TUNNEL_CONNECTION_WINDOW_BYTES);
  const address = `${bindHost}:${boundPort}`;
  logger.info({ grpcAddress: address, tls: !!tls }, 'grpc listening');

  return {
    address,
    addService: (definition, implementation) =>
      server.addService(SERVED_WIRE.get(definition) ?? definition, implementation),
    async close(graceMs) {
      health.setStatus('', HealthCheckResponse_ServingStatus.NOT_SERVING);
      health.endWatches();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
