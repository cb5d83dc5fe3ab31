import { type DynamicModule, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({})
export class MetricsModule {
  static withService(service: MetricsService): DynamicModule {
    return {
      module: MetricsModule,
      // Any module may count what it sees (e.g. the journal intake's quarantined records).
      global: true,
      controllers: [MetricsController],
      providers: [{ provide: MetricsService, useValue: service }],
      exports: [MetricsService],
    };
  }
}
