import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Store } from '@tollgate/store';
import { StoreService } from './store.service';

@Global()
@Module({})
export class StoreModule {
  static forStore(store: Store): DynamicModule {
    return {
      module: StoreModule,
      providers: [{ provide: StoreService, useValue: new StoreService(store) }],
      exports: [StoreService],
    };
  }
}
