import { Command } from 'commander';
import { loadCliConfig } from '@tollgate/config';
import { currentAccessToken } from '../credentials/access-token';
import { parseSince } from './since';

/** `tollgate audit export --since <time>`: audit records as JSON lines on stdout, oldest first. */
export function auditExportCommand(): Command {
  return new Command('export')
    .description('export audit records as JSON lines (one record per line, with its hashes), oldest first')
    .option('--since <time>', 'records since then: 10m, 2h, 7d or an ISO 8601 time (2026-11-25T00:00:00Z)')
    .option('--format <format>', 'output format (jsonl)', 'jsonl')
    .action(async (flags: { since?: string; format: string }, command: Command) => {
      const { gateway } = command.optsWithGlobals<{ gateway?: string }>();
      if (flags.format !== 'jsonl') throw new Error(`unknown format "${flags.format}" (expected jsonl)`);
      const config = loadCliConfig({ gatewayUrl: gateway });
      const query = new URLSearchParams({ format: 'jsonl' });
      if (flags.since) query.set('since', parseSince(flags.since));
      const response = await fetch(`${config.gatewayUrl}/api/v1/audit/export?${query.toString()}`, {
        headers: { authorization: `Bearer ${await currentAccessToken(config)}` },
      });
      if (!response.ok || !response.body) {
        const body = (await response.json().catch(() => ({}))) as { detail?: string };
        throw new Error(body.detail ?? `HTTP ${response.status}`);
      }
      for await (const chunk of response.body as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
    });
}
