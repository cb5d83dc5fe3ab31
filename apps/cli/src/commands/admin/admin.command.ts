import { Command, Option } from 'commander';
import { agentsAdminCommand } from './agents.command';
import { applyCommand } from './apply.command';
import { connectionsAdminCommand } from './connections.command';
import { policyAdminCommand } from './policy.command';
import { adminRecoverCommand } from './recover.command';
import { serviceAccountsAdminCommand } from './service-accounts.command';
import { usersAdminCommand } from './users.command';

/**
 * `tollgate admin ...`: administration through the REST API (TOLLGATE_URL or --gateway; sends
 * `authorization: Bearer $TOLLGATE_TOKEN` when set).
 */
export function adminCommand(): Command {
  return new Command('admin')
    .description('administer the gateway through its REST API')
    .addOption(
      new Option('--gateway <url>', 'gateway HTTP URL (default http://127.0.0.1:8009; or TOLLGATE_URL)'),
    )
    .addCommand(agentsAdminCommand())
    .addCommand(serviceAccountsAdminCommand())
    .addCommand(usersAdminCommand())
    .addCommand(applyCommand())
    .addCommand(connectionsAdminCommand())
    .addCommand(policyAdminCommand())
    .addCommand(adminRecoverCommand());
}
