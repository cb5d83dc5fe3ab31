import { Command, Option } from 'commander';
import type { ConnectFlags } from '../connect/run-connect';

/**
 * `tollgate connect NAME`: a local listener that tunnels each accepted socket to the connection, and
 * the client command to point at it; `--exec` runs that client (stdio inherited) and exits with its
 * status.
 */
export function connectCommand(): Command {
  return (
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
          '--grpc <url>',
          'gateway gRPC URL (default: the one the gateway advertises, else http://127.0.0.1:8010; or TOLLGATE_GRPC_URL)',
        ),
      )
      .addOption(
        new Option(
          '--kubeconfig <file>',
          'kubernetes connections: the kubeconfig to add context tollgate-NAME to (default $KUBECONFIG, then ~/.kube/config)',
        ),
      )
      .addOption(new Option('--insecure', 'allow plain text to a gateway that is not on loopback'))
      .addOption(new Option('--ca-file <file>', 'CA certificates for the gateway (default: system roots)'))
      .addOption(
        new Option(
          '--gateway-fingerprint <sha256>',
          "pin the gateway's TLS certificate: sha256:AB:CD:... (or TOLLGATE_GATEWAY_FINGERPRINT)",
        ),
      )
      // What it runs (listeners, the gRPC tunnel, the protocol engines' refusers) loads when it runs.
      .action(async (name: string, clientArgs: string[], flags: ConnectFlags) =>
        (await import('../connect/run-connect.js')).runConnect(name, clientArgs, flags),
      )
  );
}
