import { Command, ServerStatus } from '../capabilities';
import { isEofPacket, isErrPacket } from '../response-packets';
import { parseTextRow } from '../rows';
import { PayloadReader } from '../payload';
import type { SessionSettings } from '../sql-classifier';
import type { PacketChannel } from './packet-channel';

/**
 * Character sets whose multi-byte characters may end in an ASCII byte (0x5C `\`, 0x60 `` ` ``, letters):
 * under them the server reads text differently from a UTF-8 parser (the GBK/SJIS escape trick).
 * Collation ids of big5, sjis, gbk, cp932, gb18030 and euckr.
 */
const ASCII_EATING_COLLATIONS = new Set([1, 84, 13, 88, 28, 87, 95, 96, 248, 249, 250, 19, 85]);

export function charsetReadsBackslashes(collationId: number): boolean {
  return !ASCII_EATING_COLLATIONS.has(collationId);
}

/**
 * Asks the target for the session's `sql_mode` and `character_set_client`, which decide how the
 * server reads SQL text (backslashes, double quotes, which bytes make a character): before the
 * client's first command, and again after any statement that may have changed them. Resolves
 * undefined settings (read as the unsafe case) when the answer is anything but one plain row. The
 * query uses no table, so it leaves the session's warnings (SHOW WARNINGS) as they were.
 */
export async function readSessionSettings(target: PacketChannel): Promise<SessionSettings> {
  target.sequence = 0;
  target.write(
    Buffer.concat([
      Buffer.from([Command.QUERY]),
      Buffer.from('SELECT @@SESSION.sql_mode, @@SESSION.character_set_client'),
    ]),
  );
  let row: (string | undefined)[] | undefined;
  let failed = false;
  const header = (await target.next()).payload;
  if (isErrPacket(header)) return {};
  const columns = new PayloadReader(header, 'a result set header').lenenc();
  for (let i = 0; i < columns; i++) await target.next();
  await target.next(); // EOF after the column definitions
  for (;;) {
    const payload = (await target.next()).payload;
    if (isErrPacket(payload)) return {};
    if (isEofPacket(payload)) {
      if (
        new PayloadReader(payload, 'an EOF packet').bytes(5).readUInt16LE(3) &
        ServerStatus.MORE_RESULTS_EXISTS
      ) {
        failed = true;
        continue;
      }
      break;
    }
    if (row) failed = true;
    row = parseTextRow(payload, columns).map((value) => value?.toString('utf8'));
  }
  if (failed || !row || columns !== 2) return {};
  return { sqlMode: row[0], characterSetClient: row[1] };
}
