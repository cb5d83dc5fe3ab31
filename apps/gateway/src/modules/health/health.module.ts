import { type DynamicModule, Module } from '@nestjs/common';
import { GatewayInfoController, GrpcEndpoint } from './gateway-info.controller';
import { HealthController } from './health.controller';

/** Liveness, readiness, and what clients need to know about this gateway. */
@Module({})
export class HealthModule {
  static forEndpoint(grpc: GrpcEndpoint): DynamicModule {
    return {
      module: HealthModule,
      controllers: [HealthController, GatewayInfoController],
      providers: [{ provide: GrpcEndpoint, useValue: grpc }],
    };
  }
}
