/** An audit record as the API returns it, as far as its one-line summary needs. */
export interface SummarizedRecord {
  readonly action: string;
  readonly reason: string | null;
  readonly payload: unknown;
}

/** Longest command text a summary shows (the record, `--json` and the session view have it whole). */
export const SUMMARY_COMMAND_CHARS = 200;

/**
 * What a record says in one line: its reason; for a command, the command (cut to
 * SUMMARY_COMMAND_CHARS) and the reason it was denied or held; for a command's result, what it did
 * (`select 1 -> 1 row, 36 bytes, 0.55 ms`). Stored text as it is: callers escape it for where it is
 * shown (a terminal, a page).
 */
export function recordSummary(record: SummarizedRecord): string {
  const p = (record.payload ?? {}) as Partial<{
    command: unknown;
    rows: unknown;
    bytes: unknown;
    durationMs: unknown;
    status: unknown;
    error: unknown;
  }>;
  if ((record.action !== 'command' && record.action !== 'command.result') || typeof p.command !== 'string') {
    return record.reason ?? '';
  }
  const command =
    p.command.length > SUMMARY_COMMAND_CHARS ? `${p.command.slice(0, SUMMARY_COMMAND_CHARS)}...` : p.command;
  const parts = [command];
  if (record.action === 'command.result') {
    const did: string[] = [];
    if (typeof p.status === 'number') did.push(String(p.status));
    if (typeof p.rows === 'number') did.push(`${p.rows} ${p.rows === 1 ? 'row' : 'rows'}`);
    if (typeof p.bytes === 'number') did.push(`${p.bytes} bytes`);
    if (typeof p.durationMs === 'number') did.push(`${p.durationMs} ms`);
    if (typeof p.error === 'string') did.push(`error: ${p.error}`);
    if (did.length > 0) parts.push(`-> ${did.join(', ')}`);
  } else if (record.reason) {
    parts.push(`(${record.reason})`);
  }
  return parts.join(' ');
}
