import { Command, ServerStatus } from '../capabilities';
import { isEofPacket, isErrPacket } from '../response-packets';
import { parseTextRow } from '../rows';
import { PayloadReader } from '../payload';
import type { PacketChannel } from './packet-channel';

/**
 * Character sets whose multi-byte characters may end in 0x5C (a backslash): under them the server
 * reads `\` differently from a UTF-8 parser (the GBK/SJIS escape trick). Collation ids of big5,
 * sjis, gbk, cp932 and gb18030.
 */
const BACKSLASH_UNSAFE_CHARSETS = new Set([1, 84, 13, 88, 28, 87, 95, 96, 248, 249, 250]);

export function charsetReadsBackslashes(collationId: number): boolean {
  return !BACKSLASH_UNSAFE_CHARSETS.has(collationId);
}

/**
 * Asks the target, before the client's first command, for the session's sql_mode: whether the server
 * reads backslashes as escapes (NO_BACKSLASH_ESCAPES off). Resolves false (the safe answer: text
 * with backslashes is then refused) when the answer is anything but a plain row.
 */
export async function readsBackslashEscapes(target: PacketChannel): Promise<boolean> {
  target.sequence = 0;
  target.write(Buffer.concat([Buffer.from([Command.QUERY]), Buffer.from('SELECT @@SESSION.sql_mode')]));
  let mode: string | undefined;
  let failed = false;
  const header = (await target.next()).payload;
  if (isErrPacket(header)) return false;
  const columns = new PayloadReader(header, 'a result set header').lenenc();
  for (let i = 0; i < columns; i++) await target.next();
  await target.next(); // EOF after the column definitions
  for (;;) {
    const payload = (await target.next()).payload;
    if (isErrPacket(payload)) return false;
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
    const value = parseTextRow(payload, columns)[0];
    mode = value ? value.toString('utf8') : undefined;
  }
  if (failed || mode === undefined) return false;
  return !mode.toUpperCase().split(',').includes('NO_BACKSLASH_ESCAPES');
}
