import { Command } from 'commander';
import { ApiClient } from '../../api-client';
import { runAdmin } from './run-admin';

/** `tollgate admin agents create NAME`: registers an agent and prints its token once. */
export function agentsCreateCommand(): Command {
  return new Command('create')
    .description('register an agent and print its token (shown once; only a hash is stored)')
    .argument('<name>', 'agent name')
    .option('--description <text>', 'what and where the agent is')
    .action((name: string, flags: { description?: string }, command: Command) =>
      runAdmin(command, async (api: ApiClient) => {
        const agent = await api.call<{ name: string; id: string; token: string }>('POST', '/api/v1/agents', {
          name,
          ...(flags.description ? { description: flags.description } : {}),
        });
        process.stderr.write(`agent "${agent.name}" created (${agent.id}); its token, shown only once:\n`);
        process.stdout.write(`${agent.token}\n`);
      }),
    );
}
