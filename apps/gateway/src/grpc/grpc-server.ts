import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthService } from '@tollgate/proto';
import type { Logger } from 'pino';
import { HealthGrpcService } from './health.grpc-service';

export interface RunningGrpcServer {
  readonly address: string;
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
): Promise<RunningGrpcServer> {
  const server = new Server({
    'grpc.keepalive_time_ms': 20_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
    'grpc.max_receive_message_length': 4 * 1024 * 1024,
  });
  const health = new HealthGrpcService();
  server.addService(HealthService, health.handlers());

  const bindHost = host.includes(':') ? `[${host}]` : host;
  const boundPort = await new Promise<number>((resolve, reject) =>
    // TLS for the gRPC endpoint arrives with agent authentication; until then it binds where told.
    server.bindAsync(`${bindHost}:${port}`, ServerCredentials.createInsecure(), (error, actual) =>
      error ? reject(error) : resolve(actual),
    ),
  );
  const address = `${bindHost}:${boundPort}`;
  logger.info({ grpcAddress: address }, 'grpc listening');

  return {
    address,
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
