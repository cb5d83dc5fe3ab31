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
  const moved = misplacedCommand(program, argv.slice(2));
  if (moved) {
    process.stderr.write(
      `tollgate: unknown command '${argv[2]}': it is \`${moved}\` (tollgate --help lists the commands)\n`,
    );
    process.exit(1);
  }
  quietWhenOutputCloses();
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

/**
 * `tollgate audit --json | head -1`: once the reader of the output is gone, the command stops
 * quietly (as Unix tools do on SIGPIPE, which Node.js ignores) instead of dying on the write's
 * EPIPE with a stack trace; any other failure to write is one line and exit 1.
 */
function quietWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(0);
      if (stream === process.stdout) {
        process.stderr.write(`tollgate: cannot write the output: ${error.message}\n`);
      }
      process.exit(1);
    });
  }
}

/**
 * `tollgate policy show` is `tollgate admin policy show`: a first word that is no command of its own
 * but names exactly one command a level down gives that command's whole path (with the rest of the
 * words), instead of commander's "unknown command" and the full help.
 */
export function misplacedCommand(program: Command, args: readonly string[]): string | undefined {
  const [word, ...rest] = args;
  if (!word || word.startsWith('-') || word === 'help') return undefined;
  const answers = (command: Command) => command.name() === word || command.aliases().includes(word);
  if (program.commands.some(answers)) return undefined;
  const found = program.commands.flatMap((parent) =>
    parent.commands.filter(answers).map((sub) => `${program.name()} ${parent.name()} ${sub.name()}`),
  );
  return found.length === 1 ? [found[0], ...rest].join(' ') : undefined;
}
