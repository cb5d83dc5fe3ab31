import { Command, Option } from 'commander';
import { recordSummary } from '@tollgate/audit';
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
  payload: { displayName?: string; [key: string]: unknown };
}

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
    `${e.seq} ${e.at} ${e.decision.toUpperCase()} ${e.action} ${e.target ?? '-'} by ${who}${actors}: ${recordSummary(e)}`,
  )}\n`;
}
