import { Command, Option } from 'commander';
import { printTable } from './admin/agents-list.command';
import type { ApiClient } from '../api-client';
import { runAdmin } from './admin/run-admin';

interface ReviewRow {
  id: string;
  kind: 'access' | 'command';
  state: string;
  requester: string;
  requesterName?: string;
  connection: string;
  verb: string | null;
  durationSeconds: number | null;
  reason: string | null;
  command: string | null;
  rule: string;
  approvers: string[];
  minApprovals: number;
  createdAt: string;
  expiresAt: string;
  grantExpiresAt: string | null;
  decisions: { reviewer: string; decision: string; comment: string | null }[];
}

/** `tollgate reviews request|list|approve|reject`: just-in-time access and held commands. */
export function reviewsCommand(): Command {
  const decide = (verb: 'approve' | 'reject') =>
    new Command(verb)
      .description(`${verb} a review (access request or held command)`)
      .argument('<id>', 'review id')
      .option('-m, --comment <text>', 'why')
      .action((id: string, flags: { comment?: string }, command: Command) =>
        runAdmin(command, async (api: ApiClient) => {
          const review = await api.call<ReviewRow>(
            'POST',
            `/api/v1/reviews/${encodeURIComponent(id)}/${verb}`,
            flags.comment ? { comment: flags.comment } : {},
          );
          const approvals = review.decisions.filter((d) => d.decision === 'approve').length;
          process.stdout.write(
            review.state === 'pending'
              ? `review ${review.id}: ${verb}d; ${approvals} of ${review.minApprovals} approvals, still pending\n`
              : `review ${review.id}: ${review.state}${review.grantExpiresAt ? ` (access until ${review.grantExpiresAt})` : ''}\n`,
          );
        }),
      );
  return new Command('reviews')
    .description('just-in-time access requests and commands held for approval')
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addCommand(
      new Command('request')
        .description('ask for temporary access to a connection (reviewers are named by the policy)')
        .argument('<connection>', 'connection name')
        .requiredOption('--duration <duration>', 'how long, e.g. 30m or 1h')
        .requiredOption('--reason <text>', 'why you need it')
        .addOption(new Option('--verb <verb>', 'what for').choices(['connect', 'exec']).default('connect'))
        .action(
          (connection: string, flags: { duration: string; reason: string; verb: string }, command: Command) =>
            runAdmin(command, async (api: ApiClient) => {
              const review = await api.call<ReviewRow>('POST', '/api/v1/access-requests', {
                connection,
                verb: flags.verb,
                duration: flags.duration,
                reason: flags.reason,
              });
              process.stdout.write(
                `access request ${review.id} is pending; reviewers: ${review.approvers.join(', ')} (${review.minApprovals} needed)\n`,
              );
            }),
        ),
    )
    .addCommand(
      new Command('list')
        .alias('ls')
        .description('reviews you asked for or may decide, newest first')
        .addOption(
          new Option('--state <state>', 'only this state')
            .choices(['pending', 'approved', 'rejected', 'expired', 'all'])
            .default('pending'),
        )
        .option('--json', 'print the API response as JSON')
        .action((flags: { state: string; json?: boolean }, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const query = flags.state === 'all' ? '' : `?state=${flags.state}`;
            const { items } = await api.call<{ items: ReviewRow[] }>('GET', `/api/v1/reviews${query}`);
            if (flags.json) return void process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
            printTable(
              ['ID', 'KIND', 'STATE', 'REQUESTER', 'CONNECTION', 'WHAT', 'APPROVALS', 'EXPIRES'],
              items.map((r) => [
                r.id,
                r.kind,
                r.state,
                r.requesterName ?? r.requester,
                r.connection,
                r.kind === 'access'
                  ? `${r.verb ?? ''} ${r.durationSeconds ?? 0}s: ${r.reason ?? ''}`
                  : `${(r.command ?? '').replace(/\s+/g, ' ').slice(0, 60)} (${r.rule})`,
                `${r.decisions.filter((d) => d.decision === 'approve').length}/${r.minApprovals}`,
                r.expiresAt,
              ]),
            );
          }),
        ),
    )
    .addCommand(decide('approve'))
    .addCommand(decide('reject'));
}
