import { Command, Option } from 'commander';
import { loadCliConfig } from '@tollgate/config';
import { currentAccessToken } from '../credentials/access-token';
import { auditExportCommand } from './audit-export.command';
import { auditVerifyCommand } from './audit-verify.command';
import { terminalText } from '../terminal-text';
import { parseSince } from './since';

export interface AuditEntry {
  seq: string;
  at: string;
  subject: string;
  subjectName?: string;
  actorChain: { subject: string }[];
  action: string;
  target: string | null;
  decision: string;
  reason: string | null;
  payload: { displayName?: string } & Partial<CommandPayload>;
}

/** What a command or a command's result carries in its record (the agent's event, exported). */
interface CommandPayload {
  command: string;
  rows: number;
  bytes: number;
  durationMs: number;
  status: number;
  error: string;
}

/** Longest command text shown on a `tollgate audit` line (`--json` and `sessions show` have it whole). */
const SHOWN_COMMAND_CHARS = 200;

interface AuditFlags {
  gateway?: string;
  subject?: string;
  since?: string;
  oldestFirst?: boolean;
  action?: string;
  decision?: string;
  limit?: string;
  json?: boolean;
}

/**
 * `tollgate audit`: the audit log (needs audit:read), one line per record, newest first; people
 * are shown by e-mail beside their ids and can be named by e-mail or name in `--subject`;
 * `tollgate audit verify` and `tollgate audit export` check and export it.
 */
export function auditCommand(): Command {
  return new Command('audit')
    .description('list audit records, newest first (authorization decisions, logins, commands ...)')
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addOption(
      new Option(
        '--subject <who>',
        'only this person or account: a subject (sa:ci, user:<id>), an e-mail or a name',
      ),
    )
    .addOption(new Option('--since <time>', 'only records since then: 10m, 2h, 7d or an ISO 8601 time'))
    .addOption(new Option('--oldest-first', 'oldest records first (default: newest first)'))
    .addOption(new Option('--action <action>', 'only this action, e.g. authorize:connect'))
    .addOption(new Option('--decision <decision>', 'allow or deny').choices(['allow', 'deny']))
    .addOption(new Option('--limit <n>', 'at most this many records').default('100'))
    .addOption(new Option('--json', 'print JSON lines'))
    .addCommand(auditVerifyCommand())
    .addCommand(auditExportCommand())
    .action(async (flags: AuditFlags) => {
      const config = loadCliConfig({ gatewayUrl: flags.gateway });
      const query = new URLSearchParams({
        limit: flags.limit ?? '100',
        order: flags.oldestFirst ? 'asc' : 'desc',
      });
      if (flags.subject) query.set('who', flags.subject);
      if (flags.since) query.set('since', parseSince(flags.since));
      if (flags.action) query.set('action', flags.action);
      if (flags.decision) query.set('decision', flags.decision);
      const response = await fetch(`${config.gatewayUrl}/api/v1/audit?${query.toString()}`, {
        headers: {
          authorization: `Bearer ${await currentAccessToken(config)}`,
          accept: 'application/json',
        },
        signal: AbortSignal.timeout(30_000),
      });
      const body = (await response.json()) as { items?: AuditEntry[]; detail?: string };
      if (!response.ok) throw new Error(body.detail ?? `HTTP ${response.status}`);
      for (const e of body.items ?? []) {
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(e)}\n`);
          continue;
        }
        process.stdout.write(auditLine(e));
      }
    });
}

/** One record as one line of text (stored text escaped: a reason cannot add lines or drive the terminal). */
export function auditLine(e: AuditEntry): string {
  const name = e.subjectName ?? e.payload.displayName;
  const who = name ? `${name} (${e.subject})` : e.subject;
  const actors = e.actorChain.length ? ` via ${e.actorChain.map((a) => a.subject).join(' <- ')}` : '';
  return `${terminalText(
    `${e.seq} ${e.at} ${e.decision.toUpperCase()} ${e.action} ${e.target ?? '-'} by ${who}${actors}: ${detail(e)}`,
  )}\n`;
}

/**
 * The record's reason; for a command also the command (cut to SHOWN_COMMAND_CHARS), and for a
 * command's result what it did: `select 1 -> 1 row, 36 bytes, 0.6 ms`.
 */
function detail(e: AuditEntry): string {
  const p = e.payload;
  if ((e.action !== 'command' && e.action !== 'command.result') || typeof p.command !== 'string') {
    return e.reason ?? '';
  }
  const command =
    p.command.length > SHOWN_COMMAND_CHARS ? `${p.command.slice(0, SHOWN_COMMAND_CHARS)}...` : p.command;
  const parts = [command];
  if (e.action === 'command.result') {
    const did: string[] = [];
    if (typeof p.status === 'number') did.push(String(p.status));
    if (typeof p.rows === 'number') did.push(`${p.rows} ${p.rows === 1 ? 'row' : 'rows'}`);
    if (typeof p.bytes === 'number') did.push(`${p.bytes} bytes`);
    if (typeof p.durationMs === 'number') did.push(`${p.durationMs} ms`);
    if (typeof p.error === 'string') did.push(`error: ${p.error}`);
    if (did.length > 0) parts.push(`-> ${did.join(', ')}`);
  } else if (e.reason) {
    parts.push(`(${e.reason})`);
  }
  return parts.join(' ');
}
