import { Command, Option } from 'commander';
import type { ApiClient } from '../api-client';
import { printTable } from './admin/agents-list.command';
import { runAdmin } from './admin/run-admin';
import { createApiKey, listApiKeys, revokeApiKey } from './api-keys.command';

/** The API key name that marks a connection credential, and the connection it is for. */
const NAME_MARK = 'connection:';
const MAX_TTL_SECONDS = 30 * 86_400;
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90s`, `15m`, `1h`, `2d` (a bare number is seconds) as seconds; throws on anything else. */
export function parseTtl(text: string): number {
  const match = /^(\d{1,7})([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || 's'] ?? 1) : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_TTL_SECONDS) {
    throw new Error(`--ttl: expected a duration such as 15m, 1h or 2d, at most 30d; got "${text}"`);
  }
  return seconds;
}

/**
 * `tollgate credentials ...`: short-lived passwords for one connection, for tools that reach the
 * gateway's protocol listeners (psql on --postgres-port) with no Tollgate binary beside them. A
 * credential is an API key of yours narrowed to `connect:NAME` with an expiry: shown once, stored
 * as a hash, refused on every other connection and under any other user name, revocable.
 */
export function credentialsCommand(): Command {
  return new Command('credentials')
    .description('short-lived passwords for one connection (gateway listeners), bound to you')
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addCommand(
      new Command('create')
        .description('create a credential for connection NAME and print it (shown once)')
        .argument('<name>', 'the connection it opens')
        .option('--ttl <duration>', 'how long it lives: 15m, 1h, 2d (at most 30d)', '1h')
        .action((name: string, flags: { ttl: string }, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const expiresInSeconds = parseTtl(flags.ttl);
            const created = await createApiKey(api, {
              name: `${NAME_MARK}${name}`,
              scope: `connect:${name}`,
              expiresInSeconds,
            });
            process.stderr.write(
              `credential ${created.prefix} for "${name}" as ${created.subject}, expires ${created.expiresAt ?? 'never'}; ` +
                'use it as the password (the user name is your email); shown only once:\n',
            );
            process.stdout.write(`${created.key}\n`);
          }),
        ),
    )
    .addCommand(
      new Command('list')
        .alias('ls')
        .description("list your connection credentials (everyone's for admins)")
        .action((_f: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            const items = await listApiKeys(api);
            printTable(
              ['PREFIX', 'CONNECTION', 'SUBJECT', 'EXPIRES', 'STATUS', 'LAST USED'],
              items
                .filter((k) => k.name.startsWith(NAME_MARK))
                .map((k) => [
                  k.prefix,
                  k.name.slice(NAME_MARK.length),
                  k.subject,
                  k.expiresAt ?? 'never',
                  k.revokedAt
                    ? 'revoked'
                    : k.expiresAt && Date.parse(k.expiresAt) <= Date.now()
                      ? 'expired'
                      : 'active',
                  k.lastUsedAt ?? '-',
                ]),
            );
          }),
        ),
    )
    .addCommand(
      new Command('revoke')
        .description('revoke a connection credential by its prefix')
        .argument('<prefix>')
        .action((prefix: string, _f: unknown, command: Command) =>
          runAdmin(command, async (api: ApiClient) => {
            await revokeApiKey(api, prefix);
            process.stdout.write(`credential ${prefix} revoked\n`);
          }),
        ),
    );
}
