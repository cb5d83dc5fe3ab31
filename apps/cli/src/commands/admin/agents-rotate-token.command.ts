import { Command } from 'commander';
import type { ApiClient } from '../../api-client';
import { runAdmin } from './run-admin';

/** `tollgate admin agents rotate-token NAME`: a new token; old ones stay until revoked. */
export function agentsRotateTokenCommand(): Command {
  return new Command('rotate-token')
    .description("issue a new agent token (printed once); --revoke-old also revokes the agent's other tokens")
    .argument('<name>', 'agent name')
    .option('--revoke-old', 'revoke every other token of the agent now (cuts the streams using them)')
    .option('--expires-in <seconds>', 'lifetime of the new token in seconds (default: until revoked)')
    .action((name: string, flags: { revokeOld?: boolean; expiresIn?: string }, command: Command) =>
      runAdmin(command, async (api: ApiClient) => {
        const issued = await api.call<{ token: string; prefix: string }>(
          'POST',
          `/api/v1/agents/${encodeURIComponent(name)}/tokens`,
          {
            revokeOthers: flags.revokeOld ?? false,
            ...(flags.expiresIn ? { expiresInSeconds: Number(flags.expiresIn) } : {}),
          },
        );
        process.stderr.write(`new token ${issued.prefix}… for "${name}", shown only once:\n`);
        process.stdout.write(`${issued.token}\n`);
      }),
    );
}
