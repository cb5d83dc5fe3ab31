import { Capability, Command, PROXY_CAPABILITIES, ServerStatus } from '../capabilities';
import { PayloadReader } from '../payload';
import { isEofPacket, isErrPacket, isOkPacket, parseEofPacket, parseErrPacket } from '../response-packets';
import { parseTextRow } from '../rows';
import { connectTarget, type TargetConnection } from './target-connection';
import type { MysqlTargetSettings } from './target-settings';

/**
 * The agent's own connection to the target for catalog reads (information_schema: the tables,
 * views and stored functions lineage needs). It is opened on first use, as the connection's user,
 * apart from the client's connection (busy with the client's statements, whose results must not
 * interleave with ours). It therefore sees what that user sees of the committed catalog: not the
 * client's temporary tables, and view definitions only where the user may SHOW VIEW (otherwise the
 * view is untraced). Queries run one at a time; a connection the server ended is opened anew for the
 * next query.
 */
export class CatalogConnection {
  private connection: Promise<TargetConnection> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(private readonly target: MysqlTargetSettings) {}

  query(sql: string): Promise<(string | null)[][]> {
    const run = this.queue.then(async () => textQuery(await this.open(), sql));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The open connection, or a new one when there is none: never opened, failed to open, or ended by
   * the server (KILL, a restart, wait_timeout), which has failed the channel or left a packet no
   * query asked for.
   */
  private async open(): Promise<TargetConnection> {
    const current = await this.connection?.catch(() => undefined);
    if (
      current &&
      !current.channel.ready &&
      !current.channel.stream.destroyed &&
      current.channel.stream.writable
    )
      return current;
    current?.channel.destroy();
    if (this.closed) throw new Error('the catalog connection is closed');
    this.connection = connectTarget(this.target, {
      // Plain parsing: names as written, spaces before parentheses as the grammar says.
      clientCapabilities:
        (PROXY_CAPABILITIES & ~(Capability.IGNORE_SPACE | Capability.MULTI_STATEMENTS)) >>> 0,
    });
    return this.connection;
  }

  close(): void {
    this.closed = true;
    void this.connection?.then(
      (c) => {
        c.channel.sequence = 0;
        c.channel.write(Buffer.from([Command.QUIT]));
        c.channel.destroy();
      },
      () => undefined,
    );
  }
}

/** One COM_QUERY of a single statement: its rows as text (or none). */
async function textQuery(connection: TargetConnection, sql: string): Promise<(string | null)[][]> {
  const channel = connection.channel;
  channel.sequence = 0;
  channel.write(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(sql, 'utf8')]));
  const header = (await channel.next()).payload;
  if (isErrPacket(header)) throw new Error(`catalog read failed: ${parseErrPacket(header).message}`);
  if (isOkPacket(header)) return [];
  const count = new PayloadReader(header, 'a result set header').lenenc();
  for (let i = 0; i < count; i++) await channel.next();
  await channel.next(); // EOF after the column definitions
  const rows: (string | null)[][] = [];
  for (;;) {
    const payload = (await channel.next()).payload;
    if (isErrPacket(payload)) throw new Error(`catalog read failed: ${parseErrPacket(payload).message}`);
    if (isEofPacket(payload)) {
      if (parseEofPacket(payload).statusFlags & ServerStatus.MORE_RESULTS_EXISTS)
        throw new Error('catalog read: unexpected results');
      return rows;
    }
    rows.push(parseTextRow(payload, count).map((v) => (v === null ? null : v.toString('utf8'))));
  }
}

/** A string literal that reads the same whatever sql_mode and character set: hex, as utf8mb4. */
export function sqlLiteral(value: string): string {
  return `CONVERT(X'${Buffer.from(value, 'utf8').toString('hex')}' USING utf8mb4)`;
}
