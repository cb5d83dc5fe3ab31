import { Command, Option } from 'commander';
import { loadCliConfig } from '@tollgate/config';
import { currentAccessToken } from '../credentials/access-token';
import { auditExportCommand } from './audit-export.command';
import { auditVerifyCommand } from './audit-verify.command';

interface AuditEntry {
  seq: string;
  at: string;
  subject: string;
  actorChain: { subject: string }[];
  action: string;
  target: string | null;
  decision: string;
  reason: string | null;
  payload: { displayName?: string };
}

interface AuditFlags {
  gateway?: string;
  subject?: string;
  action?: string;
  decision?: string;
  limit?: string;
  json?: boolean;
}

/**
 * `tollgate audit`: the audit log (needs audit:read), one line per record, oldest first;
 * `tollgate audit verify` and `tollgate audit export` check and export it.
 */
export function auditCommand(): Command {
  return new Command('audit')
    .description('list audit records (authorization decisions, logins, token exchanges ...)')
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addOption(new Option('--subject <subject>', 'only this subject, e.g. sa:ci or user:<id>'))
    .addOption(new Option('--action <action>', 'only this action, e.g. authorize:connect'))
    .addOption(new Option('--decision <decision>', 'allow or deny').choices(['allow', 'deny']))
    .addOption(new Option('--limit <n>', 'at most this many records').default('100'))
    .addOption(new Option('--json', 'print JSON lines'))
    .addCommand(auditVerifyCommand())
    .addCommand(auditExportCommand())
    .action(async (flags: AuditFlags) => {
      const config = loadCliConfig({ gatewayUrl: flags.gateway });
      const query = new URLSearchParams({ limit: flags.limit ?? '100' });
      if (flags.subject) query.set('subject', flags.subject);
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
        const who = e.payload.displayName ? `${e.subject} (${e.payload.displayName})` : e.subject;
        const actors = e.actorChain.length ? ` via ${e.actorChain.map((a) => a.subject).join(' <- ')}` : '';
        process.stdout.write(
          `${e.seq} ${e.at} ${e.decision.toUpperCase()} ${e.action} ${e.target ?? '-'} by ${who}${actors}: ${e.reason ?? ''}\n`,
        );
      }
    });
}
