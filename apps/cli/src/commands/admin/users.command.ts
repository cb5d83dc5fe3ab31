import { Command } from 'commander';
import type { ApiClient } from '../../api-client';
import { printTable } from './agents-list.command';
import { runAdmin } from './run-admin';

interface UserRow {
  id: string;
  subject: string;
  email: string | null;
  disabled: boolean;
  groups: { name: string; source: string }[];
  lastLoginAt: string | null;
}

/** `tollgate admin users ...`: people known from OIDC logins. */
export function usersAdminCommand(): Command {
  const setDisabled = (disabled: boolean) => (ref: string, _flags: unknown, command: Command) =>
    runAdmin(command, async (api: ApiClient) => {
      const user = await api.call<UserRow>('PATCH', `/api/v1/users/${encodeURIComponent(ref)}`, { disabled });
      process.stdout.write(
        `user ${user.subject} (${user.email ?? '-'}) ${disabled ? 'disabled' : 'enabled'}\n`,
      );
    });
  return new Command('users')
    .description('list users from OIDC logins; disable or enable them')
    .addCommand(
      new Command('list')
        .alias('ls')
        .description('list users and their groups')
        .action((_flags: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const { items } = await api.call<{ items: UserRow[] }>('GET', '/api/v1/users');
            printTable(
              ['SUBJECT', 'EMAIL', 'GROUPS', 'STATUS', 'LAST LOGIN'],
              items.map((u) => [
                u.subject,
                u.email ?? '-',
                u.groups.map((g) => g.name).join(',') || '-',
                u.disabled ? 'disabled' : 'enabled',
                u.lastLoginAt ?? '-',
              ]),
            );
          }),
        ),
    )
    .addCommand(
      new Command('disable')
        .description('disable a user (by id or e-mail): their tokens stop working at once')
        .argument('<user>')
        .action(setDisabled(true)),
    )
    .addCommand(
      new Command('enable').description('enable a user again').argument('<user>').action(setDisabled(false)),
    );
}
