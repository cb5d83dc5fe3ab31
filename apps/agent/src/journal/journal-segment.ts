/**
 * The journal's on-disk record format, I/O-free: one record per line,
 * `<seq> <prevHash> <hash> <event as canonical JSON>\n` (canonical JSON has no raw newline). A
 * record is only appended whole and then fdatasync'd, so after a crash only the tail can be
 * incomplete; `parseSegment` returns the longest prefix of whole, well-formed records and says how
 * many bytes follow it (the torn tail, to be truncated). A segment's file may end in zeros written
 * ahead of its records (the journal grows files in zero-filled steps): they are not a torn tail.
 */
export interface JournalRecord {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** The event as canonical JSON text (what the hash covers). */
  readonly event: string;
}

export interface ParsedSegment {
  readonly records: JournalRecord[];
  /** Bytes of whole, well-formed records from the start. */
  readonly validBytes: number;
  /** Bytes after them up to the zeros written ahead (0 for a clean segment). */
  readonly tornBytes: number;
  /** Zero bytes at the end of the file after the records (and the torn tail): space written ahead. */
  readonly zeroBytes: number;
}

const NEWLINE = 0x0a;
const HEX64 = /^[0-9a-f]{64}$/;

export function formatRecord(record: JournalRecord): string {
  return `${record.seq} ${record.prevHash} ${record.hash} ${record.event}\n`;
}

export function parseSegment(bytes: Buffer): ParsedSegment {
  const records: JournalRecord[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    const end = bytes.indexOf(NEWLINE, offset);
    if (end < 0) break;
    const record = parseLine(bytes.toString('utf8', offset, end));
    if (!record) break;
    const previous = records.at(-1);
    // Sequence numbers rise by one within a segment; anything else is not a record we wrote.
    if (previous && record.seq !== previous.seq + 1) break;
    records.push(record);
    offset = end + 1;
  }
  let end = bytes.length;
  while (end > offset && bytes[end - 1] === 0) end--;
  return { records, validBytes: offset, tornBytes: end - offset, zeroBytes: bytes.length - end };
}

function parseLine(line: string): JournalRecord | undefined {
  const first = line.indexOf(' ');
  const second = line.indexOf(' ', first + 1);
  const third = line.indexOf(' ', second + 1);
  if (first <= 0 || second < 0 || third < 0) return undefined;
  const seqText = line.slice(0, first);
  if (!/^[1-9]\d{0,15}$/.test(seqText)) return undefined;
  const prevHash = line.slice(first + 1, second);
  const hash = line.slice(second + 1, third);
  if (!HEX64.test(prevHash) || !HEX64.test(hash)) return undefined;
  const event = line.slice(third + 1);
  try {
    const parsed: unknown = JSON.parse(event);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  } catch {
    return undefined;
  }
  return { seq: Number(seqText), prevHash, hash, event };
}
