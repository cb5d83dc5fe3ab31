import { Command, Option } from 'commander';
import { printTable } from './admin/agents-list.command';
import type { ApiClient } from '../api-client';
import { runAdmin } from './admin/run-admin';

export interface ApiKeyRow {
  name: string;
  prefix: string;
  subject: string;
  scopes: string[];
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

/** Creates an API key of the caller's (the secret is in the answer only). */
export function createApiKey(
  api: ApiClient,
  body: { name: string; scope?: string; expiresInDays?: number; expiresInSeconds?: number },
): Promise<ApiKeyRow & { key: string }> {
  return api.call<ApiKeyRow & { key: string }>('POST', '/api/v1/api-keys', body);
}

/** The caller's API keys (everyone's for admins). */
export async function listApiKeys(api: ApiClient): Promise<ApiKeyRow[]> {
  return (await api.call<{ items: ApiKeyRow[] }>('GET', '/api/v1/api-keys')).items;
}

export async function revokeApiKey(api: ApiClient, prefix: string): Promise<void> {
  await api.call('DELETE', `/api/v1/api-keys/${encodeURIComponent(prefix)}`);
}

/** `tollgate api-keys ...`: your API keys (long-lived bearer tokens for scripts), as your login. */
export function apiKeysCommand(): Command {
  return new Command('api-keys')
    .description('create, list and revoke your API keys (shown once, stored as hashes)')
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addCommand(
      new Command('create')
        .description('create an API key and print it (shown once)')
        .argument('<name>', 'what the key is for')
        .option('--scope <scopes>', 'space-separated subset of your scopes, e.g. "audit:read"')
        .option('--expires-in-days <days>', 'expiry (default: none)')
        .action((name: string, flags: { scope?: string; expiresInDays?: string }, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const created = await createApiKey(api, {
              name,
              ...(flags.scope ? { scope: flags.scope } : {}),
              ...(flags.expiresInDays ? { expiresInDays: Number(flags.expiresInDays) } : {}),
            });
            process.stderr.write(
              `API key "${created.name}" (prefix ${created.prefix}, scope ${created.scopes.join(' ')}, expires ${created.expiresAt ?? 'never'}); shown only once:\n`,
            );
            process.stdout.write(`${created.key}\n`);
          }),
        ),
    )
    .addCommand(
      new Command('list')
        .alias('ls')
        .description('list your API keys (all keys for admins)')
        .action((_f: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const items = await listApiKeys(api);
            printTable(
              ['PREFIX', 'NAME', 'SUBJECT', 'SCOPE', 'EXPIRES', 'STATUS', 'LAST USED'],
              items.map((k) => [
                k.prefix,
                k.name,
                k.subject,
                k.scopes.join(' '),
                k.expiresAt ?? 'never',
                k.revokedAt ? 'revoked' : 'active',
                k.lastUsedAt ?? '-',
              ]),
            );
          }),
        ),
    )
    .addCommand(
      new Command('revoke')
        .description('revoke an API key by its prefix')
        .argument('<prefix>')
        .action((prefix: string, _f: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            await revokeApiKey(api, prefix);
            process.stdout.write(`API key ${prefix} revoked\n`);
          }),
        ),
    );
}
