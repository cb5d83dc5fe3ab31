import { Command } from 'commander';
import { adminCommand } from './commands/admin/admin.command';
import { agentCommand } from './commands/agent.command';
import { apiKeysCommand } from './commands/api-keys.command';
import { sshKeysCommand } from './commands/ssh-keys.command';
import { auditCommand } from './commands/audit.command';
import { connectCommand } from './commands/connect.command';
import { credentialsCommand } from './commands/credentials.command';
import { execCommand } from './commands/exec.command';
import { gatewayCommand } from './commands/gateway.command';
import { loginCommand } from './commands/login.command';
import { lsCommand } from './commands/ls.command';
import { logoutCommand } from './commands/logout.command';
import { reviewsCommand } from './commands/reviews.command';
import { sessionsCommand } from './commands/sessions.command';
import { startCommand } from './commands/start.command';
import { tokenCommand, whoamiCommand } from './commands/token.command';
import { CLI_VERSION } from './version';
import { commandPath, describeError } from './command-errors';

/** The `tollgate` command. Only verbs that work are registered, so `--help` never lies. */
export function buildProgram(): Command {
  return new Command('tollgate')
    .description('Tollgate: identity-aware access gateway for databases, SSH, Kubernetes, HTTP and TCP')
    .version(CLI_VERSION, '-v, --version')
    .showHelpAfterError()
    .addCommand(startCommand())
    .addCommand(gatewayCommand())
    .addCommand(agentCommand())
    .addCommand(loginCommand())
    .addCommand(logoutCommand())
    .addCommand(whoamiCommand())
    .addCommand(tokenCommand())
    .addCommand(apiKeysCommand())
    .addCommand(sshKeysCommand())
    .addCommand(credentialsCommand())
    .addCommand(lsCommand())
    .addCommand(connectCommand())
    .addCommand(execCommand())
    .addCommand(adminCommand())
    .addCommand(auditCommand())
    .addCommand(sessionsCommand())
    .addCommand(reviewsCommand());
}

/**
 * Runs `tollgate` on argv. Every failure of every command ends here: one line on stderr naming the
 * full command that failed (`tollgate admin apply: ...`), no stack trace, exit status 1.
 */
export async function runProgram(argv: readonly string[]): Promise<void> {
  const program = buildProgram();
  let running: Command = program;
  program.hook('preAction', (_program, action) => {
    running = action;
  });
  try {
    await program.parseAsync(argv);
  } catch (error) {
    process.stderr.write(`${commandPath(running)}: ${describeError(error)}\n`);
    process.exit(1);
  }
}
