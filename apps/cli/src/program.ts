import { Command } from 'commander';
import { GATEWAY_VERSION } from '@tollgate/gateway';
import { adminCommand } from './commands/admin/admin.command';
import { agentCommand } from './commands/agent.command';
import { connectCommand } from './commands/connect.command';
import { gatewayCommand } from './commands/gateway.command';
import { startCommand } from './commands/start.command';

/** The `tollgate` command. Only verbs that work are registered, so `--help` never lies. */
export function buildProgram(): Command {
  return new Command('tollgate')
    .description('Tollgate: identity-aware access gateway for databases, SSH, Kubernetes, HTTP and TCP')
    .version(GATEWAY_VERSION, '-v, --version')
    .showHelpAfterError()
    .addCommand(startCommand())
    .addCommand(gatewayCommand())
    .addCommand(agentCommand())
    .addCommand(connectCommand())
    .addCommand(adminCommand());
}
