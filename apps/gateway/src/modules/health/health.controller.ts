import { Controller, Get, HttpCode, ServiceUnavailableException } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../identity/http/access.decorators';
import { StoreService } from '../store/store.service';

@ApiExcludeController()
@Public()
@Controller()
export class HealthController {
  constructor(private readonly store: StoreService) {}

  /** Liveness: the process is up and serving HTTP. */
  @Get('healthz')
  @HttpCode(200)
  health(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** Readiness: the store answers, so requests can be served. */
  @Get('readyz')
  async ready(): Promise<{ status: 'ready'; store: string }> {
    try {
      await this.store.ping();
    } catch {
      throw new ServiceUnavailableException('the store is not reachable');
    }
    return { status: 'ready', store: this.store.kind };
  }
}
