import { Command, Option } from 'commander';
import { addTunnelOptions } from './tunnel-options';
import type { ExecFlags } from '../connect/run-exec';

/**
 * `tollgate exec NAME -c SQL`: one-off commands through the same pipeline as `connect` (the same
 * session, policy, masking and audit), printed as a table, JSON or CSV. Exits 1 when the session
 * cannot open or any statement fails. On an SSH connection `-c` is a command line, run at the
 * target (decided by policy, recorded) with its stdout and stderr printed as they come and its exit
 * status (128 + the signal's number for a signal) as tollgate's.
 */
export function execCommand(): Command {
  return (
    addTunnelOptions(
      new Command('exec')
        .description(
          'run SQL on a PostgreSQL or MySQL connection, or a command on an SSH connection, through the gateway and print the results',
        )
        .argument('<name>', 'connection name')
        .addOption(
          new Option(
            '-c, --command <text>',
            'SQL to run (several statements are decided as a whole), or for SSH a command line',
          ),
        )
        .addOption(new Option('-f, --file <file>', 'read the SQL (or SSH command line) from a file'))
        .addOption(
          new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'),
        ),
    )
      // What it runs (the gRPC tunnel, the protocol clients) loads when it runs: `tollgate --help` and
      // the other commands start without it.
      .action(async (name: string, flags: ExecFlags) =>
        (await import('../connect/run-exec.js')).runExec(name, flags),
      )
  );
}
