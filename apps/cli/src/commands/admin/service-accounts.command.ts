import { Command } from 'commander';
import type { ApiClient } from '../../api-client';
import { printTable } from './agents-list.command';
import { runAdmin } from './run-admin';

interface ServiceAccountRow {
  name: string;
  subject: string;
  groups: string[];
  disabled: boolean;
  createdAt: string;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `tollgate admin service-accounts ...`: machine identities using client credentials. */
export function serviceAccountsAdminCommand(): Command {
  return new Command('service-accounts')
    .description('manage service accounts (machine identities using client credentials)')
    .addCommand(
      new Command('create')
        .description(
          'create a service account and print its client secret (shown once; only a hash is stored)',
        )
        .argument('<name>', 'name; also the client id, and the subject sa:<name>')
        .option('--group <group>', 'a group it belongs to (repeatable)', collect)
        .option('--description <text>', 'what it is for')
        .action((name: string, flags: { group?: string[]; description?: string }, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const created = await api.call<{ subject: string; clientId: string; clientSecret: string }>(
              'POST',
              '/api/v1/service-accounts',
              {
                name,
                groups: flags.group ?? [],
                ...(flags.description ? { description: flags.description } : {}),
              },
            );
            process.stderr.write(
              `service account ${created.subject} created; client id "${created.clientId}", client secret (shown only once):\n`,
            );
            process.stdout.write(`${created.clientSecret}\n`);
          }),
        ),
    )
    .addCommand(
      new Command('list')
        .alias('ls')
        .description('list service accounts')
        .action((_flags: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const { items } = await api.call<{ items: ServiceAccountRow[] }>(
              'GET',
              '/api/v1/service-accounts',
            );
            printTable(
              ['NAME', 'SUBJECT', 'GROUPS', 'STATUS', 'CREATED'],
              items.map((a) => [
                a.name,
                a.subject,
                a.groups.join(',') || '-',
                a.disabled ? 'disabled' : 'enabled',
                a.createdAt,
              ]),
            );
          }),
        ),
    )
    .addCommand(
      new Command('disable')
        .description('disable a service account: its tokens stop working at once')
        .argument('<name>')
        .action((name: string, _flags: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            await api.call('PATCH', `/api/v1/service-accounts/${encodeURIComponent(name)}`, {
              disabled: true,
            });
            process.stdout.write(`service account sa:${name} disabled\n`);
          }),
        ),
    )
    .addCommand(
      new Command('delete')
        .description('delete a service account: its tokens stop working at once')
        .argument('<name>')
        .action((name: string, _flags: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            await api.call('DELETE', `/api/v1/service-accounts/${encodeURIComponent(name)}`);
            process.stdout.write(`service account sa:${name} deleted\n`);
          }),
        ),
    );
}
