import { Command } from 'commander';
import { printTable } from './agents-list.command';
import type { ApiClient } from '../../api-client';
import { policyApplyCommand } from './policy-apply.command';
import { runAdmin } from './run-admin';

interface VersionRow {
  version: number;
  author: string;
  comment: string | null;
  active: boolean;
  createdAt: string;
}

/** GET /api/v1/policy: the policy in force (version null: a default no one stored). */
interface ActivePolicyView {
  version: number | null;
  source: 'built-in' | 'quickstart' | 'stored';
  document: string;
}

/** What is in force when no version was ever stored, in words. */
function unstoredPolicy(active: ActivePolicyView): string {
  return active.source === 'quickstart'
    ? "the quickstart policy (tollgate start's roles for the demo users)"
    : 'the built-in default policy';
}

interface VersionDetail extends VersionRow {
  document: string;
  previousVersion: number | null;
  changes: { section: string; name?: string; change: string }[];
  diff: string;
}

/** `tollgate admin policy apply|versions|show|restore`: the policy and its version history. */
export function policyAdminCommand(): Command {
  return new Command('policy')
    .description('the policy: apply a document, list versions, show one with its diff, restore one')
    .addCommand(policyApplyCommand())
    .addCommand(
      new Command('versions')
        .description('list every stored version, newest first')
        .option('--json', 'print the API response as JSON')
        .action((flags: { json?: boolean }, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const { items } = await api.call<{ items: VersionRow[] }>('GET', '/api/v1/policy/versions');
            if (flags.json) return void process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
            if (items.length === 0) {
              const active = await api.call<ActivePolicyView>('GET', '/api/v1/policy');
              process.stdout.write(
                `no policy version is stored yet: ${unstoredPolicy(active)} is in force.\n` +
                  '`tollgate admin policy show` prints it; `tollgate admin policy apply -f FILE` stores version 1.\n',
              );
              return;
            }
            printTable(
              ['VERSION', 'ACTIVE', 'CREATED', 'AUTHOR', 'COMMENT'],
              items.map((v) => [
                String(v.version),
                v.active ? 'yes' : '',
                v.createdAt,
                v.author,
                v.comment ?? '',
              ]),
            );
          }),
        ),
    )
    .addCommand(
      new Command('show')
        .description(
          'show one version: author, time, what changed against the previous one, the diff ' +
            '(without a version: the policy in force)',
        )
        .argument('[version]', 'version number (default: the active one)')
        .option('--document', 'print only the document')
        .option('--json', 'print the API response as JSON')
        .action(
          (version: string | undefined, flags: { document?: boolean; json?: boolean }, command: Command) =>
            runAdmin(command, async (api: ApiClient) => {
              if (version === undefined) {
                const active = await api.call<ActivePolicyView>('GET', '/api/v1/policy');
                if (active.version === null) {
                  if (flags.json) return void process.stdout.write(`${JSON.stringify(active, null, 2)}\n`);
                  if (flags.document) return void process.stdout.write(active.document);
                  // The note goes to stderr: `show > policy.yaml`, edited and applied, must not store
                  // "no policy version is stored yet" as part of version 1.
                  process.stderr.write(
                    `# no policy version is stored yet: ${unstoredPolicy(active)} is in force.\n` +
                      '# Edit a copy and store it with `tollgate admin policy apply -f FILE`.\n',
                  );
                  process.stdout.write(active.document);
                  return;
                }
                version = String(active.version);
              }
              const v = await api.call<VersionDetail>(
                'GET',
                `/api/v1/policy/versions/${encodeURIComponent(version)}`,
              );
              if (flags.json) return void process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
              if (flags.document) return void process.stdout.write(v.document);
              const out = [
                `version ${v.version}${v.active ? ' (active)' : ''}`,
                `author  ${v.author}`,
                `created ${v.createdAt}`,
                ...(v.comment ? [`comment ${v.comment}`] : []),
                `changes against ${v.previousVersion === null ? 'nothing (first version)' : `version ${v.previousVersion}`}:`,
                ...v.changes.map((c) => `  ${c.change.padEnd(7)} ${c.section}${c.name ? ` ${c.name}` : ''}`),
                '',
                v.diff.trimEnd(),
              ];
              process.stdout.write(`${out.join('\n')}\n`);
            }),
        ),
    )
    .addCommand(
      new Command('restore')
        .description('make an old version active again (stored as a new version)')
        .argument('<version>', 'version number')
        .action((version: string, _flags: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const restored = await api.call<{ version: number; restoredFrom: number }>(
              'POST',
              `/api/v1/policy/versions/${encodeURIComponent(version)}/restore`,
            );
            process.stdout.write(
              `policy version ${restored.restoredFrom} restored as version ${restored.version}\n`,
            );
          }),
        ),
    );
}
