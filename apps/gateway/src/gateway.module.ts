import { type DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Store } from '@tollgate/store';
import { AgentsModule } from './modules/agents/agents.module';
import { AuditModule } from './modules/audit/audit.module';
import type { WebhookOptions } from './modules/audit/webhook-dispatcher';
import { ConnectionsModule } from './modules/connections/connections.module';
import type { GrpcEndpoint } from './modules/health/gateway-info.controller';
import { HealthModule } from './modules/health/health.module';
import type { IdentityOptions } from './modules/identity/identity-options';
import { IdentityModule } from './modules/identity/identity.module';
import { ListenersModule } from './modules/listeners/listeners.module';
import { MetricsModule } from './modules/metrics/metrics.module';
import type { MetricsService } from './modules/metrics/metrics.service';
import { PolicyModule } from './modules/policy/policy.module';
import { ReviewsModule } from './modules/reviews/reviews.module';
import { SessionsModule } from './modules/sessions/sessions.module';
import { StoreModule } from './modules/store/store.module';
import { TunnelModule } from './modules/tunnel/tunnel.module';
import type { TunnelSettings } from './modules/tunnel/tunnel-settings';

export interface GatewayModuleOptions {
  readonly store: Store;
  readonly metrics: MetricsService;
  readonly logger: Logger;
  readonly identity: IdentityOptions;
  readonly webhooks: WebhookOptions;
  readonly grpc: GrpcEndpoint;
  readonly tunnel?: TunnelSettings;
}

/** The composition root: one feature module per aggregate. */
@Module({})
export class GatewayModule {
  static forRoot(options: GatewayModuleOptions): DynamicModule {
    return {
      module: GatewayModule,
      imports: [
        StoreModule.forStore(options.store),
        MetricsModule.withService(options.metrics),
        AuditModule.forRoot(options.webhooks),
        IdentityModule.forOptions(options.identity),
        HealthModule.forEndpoint(options.grpc),
        ConnectionsModule,
        AgentsModule,
        TunnelModule.forRoot(options.logger, options.tunnel),
        PolicyModule,
        ReviewsModule,
        SessionsModule,
        ListenersModule,
      ],
    };
  }
}
