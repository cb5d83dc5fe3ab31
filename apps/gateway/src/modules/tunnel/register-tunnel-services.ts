import type { INestApplicationContext } from '@nestjs/common';
import { AgentTunnelService, ClientTunnelService } from '@tollgate/proto';
import type { RunningGrpcServer } from '../../grpc/grpc-server';
import { AgentTunnelGrpcService } from './agent-tunnel.grpc-service';
import { ClientTunnelGrpcService } from './client-tunnel.grpc-service';

/** Serves the tunnel services on the gateway's gRPC endpoint, backed by the Nest app's providers. */
export function registerTunnelServices(
  app: INestApplicationContext,
  grpc: Pick<RunningGrpcServer, 'addService'>,
): void {
  grpc.addService(AgentTunnelService, app.get(AgentTunnelGrpcService).handlers());
  grpc.addService(ClientTunnelService, app.get(ClientTunnelGrpcService).handlers());
}
