import { simpleQuery } from './simple-query';
import { connectTarget, type TargetConnection } from './target-connection';
import type { PostgresTargetSettings } from './target-settings';

/**
 * The agent's own connection to the target for catalog reads (column names of result fields, the
 * relations and functions lineage needs). It is opened on first use with the connection's
 * credentials, as a separate backend (`application_name = tollgate-catalog`): the client's
 * connection is busy with the client's statements, and reading the catalog there would interleave
 * with them. It therefore sees the catalog as committed, not the client's open transaction, nor
 * its temporary objects while uncommitted. Queries run one at a time.
 */
export class CatalogConnection {
  private connection: Promise<TargetConnection> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly target: PostgresTargetSettings) {}

  query(sql: string): Promise<(string | null)[][]> {
    const run = this.queue.then(async () => {
      const connection = await (this.connection ??= connectTarget(this.target, {
        application_name: 'tollgate-catalog',
        standard_conforming_strings: 'on',
      }));
      return simpleQuery(connection, sql);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    void this.connection?.then(
      (c) => c.socket.destroy(),
      () => undefined,
    );
  }
}

/** A string literal for SQL sent with standard_conforming_strings on. */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}
