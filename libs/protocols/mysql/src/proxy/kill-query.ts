import { Command, ServerStatus } from '../capabilities';
import { PayloadReader } from '../payload';
import { MysqlProtocolError } from '../protocol-error';
import { isEofPacket, isErrPacket, parseErrPacket } from '../response-packets';
import { parseTextRow } from '../rows';
import type { PacketChannel } from './packet-channel';
import { connectTarget } from './target-connection';
import type { MysqlTargetSettings } from './target-settings';

/**
 * Stops the statement running on server thread `thread` with `KILL QUERY` on a side connection
 * (the session's own connection is busy with it), as the same user, who may always kill its own
 * threads. Resolves when the server answered.
 */
export async function killQuery(settings: MysqlTargetSettings, thread: number): Promise<void> {
  const side = await connectTarget(settings);
  try {
    side.channel.sequence = 0;
    side.channel.write(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(`KILL QUERY ${thread}`)]));
    const reply = await side.channel.next();
    if (isErrPacket(reply.payload)) throw new Error(parseErrPacket(reply.payload).message);
  } finally {
    side.channel.sequence = 0;
    side.channel.write(Buffer.from([Command.QUIT]));
    side.channel.destroy();
  }
}

/** The query that evaluates a KILL's id expression as the server does (its integer value). */
export function killIdQuery(expression: string): string {
  // Line breaks: an expression ending in a `-- comment` still ends before the closing parenthesis.
  return `SELECT CAST((\n${expression}\n) AS SIGNED)`;
}

/**
 * Evaluates a KILL's id expression on the session's own target connection (where the server would
 * evaluate it: user variables, functions and subqueries read as in the session), with
 * killIdQuery. Resolves the id (NULL reads as 0, as the server's KILL reads it), or the server's
 * ERR packet for the client.
 */
export async function evaluateKillId(
  target: PacketChannel,
  expression: string,
): Promise<{ readonly id: string } | { readonly err: Buffer }> {
  target.sequence = 0;
  target.write(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from(killIdQuery(expression), 'utf8')]));
  const header = (await target.next()).payload;
  if (isErrPacket(header)) return { err: header };
  const columns = new PayloadReader(header, 'a result set header').lenenc();
  for (let i = 0; i < columns; i++) await target.next();
  await target.next(); // EOF after the column definitions
  let value: string | undefined;
  for (;;) {
    const payload = (await target.next()).payload;
    if (isErrPacket(payload)) return { err: payload };
    if (isEofPacket(payload)) {
      const status = new PayloadReader(payload, 'an EOF packet').bytes(5).readUInt16LE(3);
      // One statement (the splitter read the KILL as one): a second result is not this query's.
      if (status & ServerStatus.MORE_RESULTS_EXISTS)
        throw new MysqlProtocolError(
          'malformed',
          "a KILL's id expression answered with more than one result",
        );
      break;
    }
    value ??= parseTextRow(payload, columns)[0]?.toString('utf8') ?? '0';
  }
  return { id: value ?? '0' };
}
