import { simpleQuery } from './simple-query';
import { connectTarget, type TargetConnection } from './target-connection';
import type { PostgresTargetSettings } from './target-settings';

/**
 * The agent's own connection to the target for catalog reads (column names of result fields, the
 * relations and functions lineage needs). It is opened on first use with the connection's
 * credentials, as a separate backend (`application_name = tollgate-catalog`): the client's
 * connection is busy with the client's statements, and reading the catalog there would interleave
 * with them. It therefore sees the catalog as committed, not the client's open transaction, nor
 * its temporary objects while uncommitted. Queries run one at a time; a connection the server ended is
 * opened anew for the next query.
 */
export class CatalogConnection {
  private connection: Promise<TargetConnection> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly target: PostgresTargetSettings) {}

  query(sql: string): Promise<(string | null)[][]> {
    const run = this.queue.then(async () => simpleQuery(await this.open(), sql));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The open connection, or a new one when there is none: never opened, failed to open, or ended by
   * the server (terminated, restarted), which a query on it would wait on forever.
   */
  private async open(): Promise<TargetConnection> {
    const current = await this.connection?.catch(() => undefined);
    if (current && !current.socket.destroyed && current.socket.writable) return current;
    current?.socket.destroy();
    if (this.closed) throw new Error('the catalog connection is closed');
    this.connection = connectTarget(this.target, {
      application_name: 'tollgate-catalog',
      standard_conforming_strings: 'on',
    });
    return this.connection;
  }

  close(): void {
    this.closed = true;
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
