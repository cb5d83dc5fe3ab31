import { Command, Option } from 'commander';
import { addTunnelOptions } from './tunnel-options';
import type { ConnectFlags } from '../connect/run-connect';

/**
 * `tollgate connect NAME`: a local listener that tunnels each accepted socket to the connection, and
 * the client command to point at it; `--exec` runs that client (stdio inherited) and exits with its
 * status.
 */
export function connectCommand(): Command {
  return (
    addTunnelOptions(
      new Command('connect')
        .description(
          'listen on 127.0.0.1, relay each connection through the gateway to NAME and print the client command to run (--exec runs it)',
        )
        .argument('<name>', 'connection name')
        .argument(
          '[client-args...]',
          'with --exec: more arguments for the client, after -- (e.g. -- -c "select 1")',
        )
        .addOption(
          new Option(
            '--port <port>',
            "local port (default: the protocol's, e.g. 5433 for postgres, 8999 for tcp; with --exec a free one; 0 picks a free port)",
          ),
        )
        .addOption(
          new Option(
            '--exec',
            'run the client (psql, mysql, ssh, curl, kubectl, nc) against the listener; exit with its status',
          ),
        )
        .addOption(
          new Option(
            '--kubeconfig <file>',
            'kubernetes connections: the kubeconfig to add context tollgate-NAME to (default $KUBECONFIG, then ~/.kube/config)',
          ),
        ),
    )
      // What it runs (listeners, the gRPC tunnel, the protocol engines' refusers) loads when it runs.
      .action(async (name: string, clientArgs: string[], flags: ConnectFlags) =>
        (await import('../connect/run-connect.js')).runConnect(name, clientArgs, flags),
      )
  );
}
