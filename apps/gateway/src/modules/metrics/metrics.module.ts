import { type DynamicModule, Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

@Module({})
export class MetricsModule {
  static withService(service: MetricsService): DynamicModule {
    return {
      module: MetricsModule,
      controllers: [MetricsController],
      providers: [{ provide: MetricsService, useValue: service }],
      exports: [MetricsService],
    };
  }
}
