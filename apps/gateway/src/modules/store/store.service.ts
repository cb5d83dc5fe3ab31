import type { PrismaClient, Store } from '@tollgate/store';

/** The gateway's handle on its store; the store's lifecycle belongs to the gateway runner. */
export class StoreService {
  constructor(private readonly store: Store) {}

  get prisma(): PrismaClient {
    return this.store.prisma;
  }

  /** The raw driver (see Store.sql): for hot paths only; everything else goes through Prisma. */
  get sql(): Store['sql'] {
    return this.store.sql;
  }

  get kind(): Store['kind'] {
    return this.store.kind;
  }

  ping(): Promise<void> {
    return this.store.ping();
  }
}
