export { TunnelModule } from './tunnel.module';
export { AgentRegistry } from './agent-registry';
export { AgentTunnelGrpcService } from './agent-tunnel.grpc-service';
export { ClientTunnelGrpcService } from './client-tunnel.grpc-service';
export { generateAgentToken, hashAgentToken } from './agent-token';
