import { Command } from 'commander';
import { agentsCreateCommand } from './agents-create.command';
import { agentsListCommand } from './agents-list.command';
import { agentsRevokeTokenCommand } from './agents-revoke-token.command';
import { agentsRotateTokenCommand } from './agents-rotate-token.command';

/** `tollgate admin agents ...` */
export function agentsAdminCommand(): Command {
  return new Command('agents')
    .description('manage agents and their tokens')
    .addCommand(agentsCreateCommand())
    .addCommand(agentsListCommand())
    .addCommand(agentsRotateTokenCommand())
    .addCommand(agentsRevokeTokenCommand());
}
