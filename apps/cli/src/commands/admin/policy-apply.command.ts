import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Command } from 'commander';
import type { ApiClient } from '../../api-client';
import { runAdmin } from './run-admin';

interface PolicyChange {
  section: string;
  name?: string;
  change: 'added' | 'removed' | 'changed';
}

export interface DryRun {
  activeVersion: number | null;
  changes: PolicyChange[];
  diff: string;
  sessions: { sessionId: string; subject: string; connection: string; impacts: string[]; reason?: string }[];
  refused: string | null;
}

/**
 * `tollgate admin policy apply -f policy.yaml [--dry-run]`: validates and stores the document as the new
 * active policy version (pushed to every agent), or with --dry-run shows what would change and which
 * live sessions it would affect, changing nothing.
 */
export function policyApplyCommand(): Command {
  return new Command('apply')
    .description('apply a policy document (YAML) as the new active version; --dry-run shows the effect only')
    .requiredOption('-f, --file <path>', 'the policy document')
    .option('--dry-run', 'print what would change and which live sessions it would affect; store nothing')
    .option('-m, --comment <text>', 'why (stored with the version)')
    .option('--json', 'print the API response as JSON')
    .action((flags: { file: string; dryRun?: boolean; comment?: string; json?: boolean }, command: Command) =>
      runAdmin(command, async (api: ApiClient) => {
        let document: string;
        try {
          document = readFileSync(flags.file, 'utf8');
        } catch (error) {
          throw new PolicyFileError(flags.file, error);
        }
        const fileName = basename(flags.file);
        if (flags.dryRun) {
          const result = await api.call<DryRun>('POST', '/api/v1/policy/dry-run', { document, fileName });
          if (flags.json) return void process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
          printDryRun(result);
          // A dry run of a document the gateway would refuse fails, as the apply would.
          if (result.refused) process.exitCode = 1;
          return;
        }
        const applied = await api.call<{ version: number }>('POST', '/api/v1/policy', {
          document,
          fileName,
          ...(flags.comment ? { comment: flags.comment } : {}),
        });
        if (flags.json) return void process.stdout.write(`${JSON.stringify(applied, null, 2)}\n`);
        process.stdout.write(`policy version ${applied.version} applied from ${flags.file}\n`);
      }),
    );
}

export function printDryRun(result: DryRun): void {
  const out: string[] = [
    `dry run against ${result.activeVersion === null ? 'the built-in default policy' : `version ${result.activeVersion}`}: nothing was applied`,
  ];
  if (result.refused) out.push(`applying it would be refused: ${result.refused}`);
  if (result.changes.length === 0) out.push('no changes');
  for (const c of result.changes)
    out.push(`  ${c.change.padEnd(7)} ${c.section}${c.name ? ` ${c.name}` : ''}`);
  if (result.diff) out.push('', result.diff.trimEnd());
  out.push('');
  if (result.sessions.length === 0) out.push('live sessions affected: none');
  else {
    out.push(`live sessions affected: ${result.sessions.length}`);
    for (const s of result.sessions) {
      out.push(
        `  ${s.sessionId} ${s.subject} on ${s.connection}: ${s.impacts.join(', ')}${s.reason ? ` (${s.reason})` : ''}`,
      );
    }
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The policy file could not be read; reported as one line like an API error. */
class PolicyFileError extends TypeError {
  constructor(path: string, error: unknown) {
    super(`cannot read ${path}`, { cause: error });
    this.name = 'PolicyFileError';
  }
}
