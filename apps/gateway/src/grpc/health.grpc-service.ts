import { status as GrpcStatus, type ServerWritableStream } from '@grpc/grpc-js';
import {
  HealthCheckResponse_ServingStatus as Serving,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthListResponse,
  type HealthServer,
} from '@tollgate/proto';

type Watch = ServerWritableStream<HealthCheckRequest, HealthCheckResponse>;

/**
 * The standard gRPC health service (grpc.health.v1). The empty service name is the gateway as a
 * whole; it turns NOT_SERVING when shutdown begins so load balancers stop sending new streams.
 */
export class HealthGrpcService {
  private readonly statuses = new Map<string, Serving>([['', Serving.SERVING]]);
  private readonly watchers = new Map<Watch, string>();

  setStatus(service: string, status: Serving): void {
    this.statuses.set(service, status);
    for (const [call, watched] of this.watchers) if (watched === service) call.write({ status });
  }

  /** Ends every Watch stream (at shutdown, so the server can close). */
  endWatches(): void {
    for (const call of this.watchers.keys()) call.end();
    this.watchers.clear();
  }

  handlers(): HealthServer {
    return {
      check: (call, callback) => {
        const status = this.statuses.get(call.request.service);
        if (status === undefined) {
          callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service "${call.request.service}"` });
          return;
        }
        callback(null, { status });
      },
      list: (_call, callback) => {
        const statuses: HealthListResponse['statuses'] = {};
        for (const [service, status] of this.statuses) statuses[service] = { status };
        callback(null, { statuses });
      },
      watch: (call) => {
        this.watchers.set(call, call.request.service);
        call.write({ status: this.statuses.get(call.request.service) ?? Serving.SERVICE_UNKNOWN });
        call.on('cancelled', () => this.watchers.delete(call));
      },
    };
  }
}
