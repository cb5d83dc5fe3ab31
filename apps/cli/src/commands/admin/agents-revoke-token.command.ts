import { Command } from 'commander';
import type { ApiClient } from '../../api-client';
import { printTable } from './agents-list.command';
import { runAdmin } from './run-admin';

interface TokenRow {
  id: string;
  prefix: string;
  status: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** `tollgate admin agents revoke-token NAME PREFIX`: revokes a token and cuts its live streams. */
export function agentsRevokeTokenCommand(): Command {
  return new Command('revoke-token')
    .description(
      "revoke an agent token by prefix or id (cuts its live streams); without one, list the agent's tokens",
    )
    .argument('<name>', 'agent name')
    .argument('[token]', 'token prefix (tga_...) or id')
    .action((name: string, token: string | undefined, _flags: unknown, command: Command) =>
      runAdmin(command, async (api: ApiClient) => {
        const base = `/api/v1/agents/${encodeURIComponent(name)}/tokens`;
        if (!token) {
          const { items } = await api.call<{ items: TokenRow[] }>('GET', base);
          printTable(
            ['ID', 'PREFIX', 'STATUS', 'CREATED', 'LAST USED'],
            items.map((t) => [t.id, t.prefix, t.status, t.createdAt, t.lastUsedAt ?? '-']),
          );
          return;
        }
        const revoked = await api.call<TokenRow>('POST', `${base}/${encodeURIComponent(token)}/revoke`);
        process.stdout.write(`revoked ${revoked.prefix}… (${revoked.id}) of "${name}"\n`);
      }),
    );
}
