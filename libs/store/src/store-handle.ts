import type { StoreChanges } from './changes/store-changes';
import type { PrismaClient } from './generated/prisma/client';
import type { SqlExecutor } from './migrations/sql-executor';
import type { Store, StoreKind } from './store.types';

/** Builds the Store facade; `releaseResources` runs once, after Prisma has disconnected. */
export function storeHandle(
  kind: StoreKind,
  describe: string,
  prisma: PrismaClient,
  sql: SqlExecutor,
  changes: StoreChanges,
  releaseResources: () => Promise<void>,
): Store {
  let closing: Promise<void> | undefined;
  return {
    prisma,
    sql,
    changes,
    kind,
    describe,
    async ping(): Promise<void> {
      await prisma.$queryRaw`SELECT 1`;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        try {
          await changes.close();
          await prisma.$disconnect();
        } finally {
          await releaseResources();
        }
      })();
      return closing;
    },
  };
}
