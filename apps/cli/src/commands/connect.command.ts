import { Command, Option } from 'commander';
import { loadConnectConfig } from '@tollgate/config';
import { protocolFromJSON } from '@tollgate/proto';
import { writeKubeContext } from '../connect/kubeconfig';
import { clientCommand, shellLine } from '../connect/client-command';
import { connectionProtocol, defaultLocalPort } from '../connect/default-port';
import { startLocalListener, type LocalListener } from '../connect/local-listener';
import { runClient } from '../connect/run-client';
import { startSshListener } from '../connect/ssh-listener';
import { checkGatewayCertificate } from '../connect/tunnel-session';
import { currentAccessToken, keepLoginFresh } from '../credentials/access-token';
import { CLI_VERSION } from '../version';
import { advertisedGrpcUrl } from '../connect/gateway-grpc-url';

interface ConnectFlags {
  port?: string;
  exec?: boolean;
  grpc?: string;
  insecure?: boolean;
  caFile?: string;
  gatewayFingerprint?: string;
  kubeconfig?: string;
}

/**
 * `tollgate connect NAME`: a local listener that tunnels each accepted socket to the connection, and
 * the client command to point at it; `--exec` runs that client (stdio inherited) and exits with its
 * status.
 */
export function connectCommand(): Command {
  return new Command('connect')
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
    .action(async (name: string, clientArgs: string[], flags: ConnectFlags) => {
      if (clientArgs.length > 0 && !flags.exec) {
        throw new Error(`client arguments (${clientArgs.join(' ')}) are for --exec`);
      }
      const overrides = {
        port: flags.port,
        grpcUrl: flags.grpc,
        insecure: flags.insecure,
        caFile: flags.caFile,
        gatewayFingerprint: flags.gatewayFingerprint,
        kubeconfig: flags.kubeconfig,
      };
      loadConnectConfig(overrides); // bad flags are said before anything else
      const token = await currentAccessToken();
      const advertised = flags.grpc === undefined ? await advertisedGrpcUrl(token) : undefined;
      const config = loadConnectConfig(overrides, undefined, advertised ? { grpcUrl: advertised } : {});
      const report = (line: string) => process.stderr.write(`${line}\n`);
      await checkGatewayCertificate(config);
      // With --port a refusal is said per session, to the client, in its own protocol; the protocol
      // then only picks the listener and the client to suggest.
      const said =
        config.port === undefined || flags.exec
          ? await connectionProtocol(name, token, report)
          : await connectionProtocol(name, token, () => undefined).catch(() => undefined);
      const protocol = said ?? 'tcp';
      const port = config.port ?? (flags.exec ? 0 : defaultLocalPort(protocol));
      // SSH is served by a local SSH server; every other protocol's client is relayed byte for byte.
      const start = protocol === 'ssh' ? startSshListener : startLocalListener;
      const listener = await start(config, {
        connectionName: name,
        port,
        // Asked for at every session: a saved login is re-read and refreshed before it expires.
        token: () => currentAccessToken(),
        clientVersion: CLI_VERSION,
        report,
        // A refusal before a session opens (an expired login) is said in this protocol.
        ...(said === undefined || said === 'tcp'
          ? {}
          : { protocol: protocolFromJSON(`PROTOCOL_${said.toUpperCase()}`) }),
      }).catch((error: unknown) => {
        throw listenError(error, port);
      });
      if (flags.exec) {
        const command = clientCommand(protocol, name, listener.port);
        const needs = listener.client?.args ?? [];
        await runClient({ ...command, args: [...needs, ...command.args] }, clientArgs, listener);
        return;
      }
      process.stdout.write(`listening on 127.0.0.1:${listener.port} for "${name}"; Ctrl-C to stop\n`);
      let client = clientCommand(protocol, name, listener.port);
      if (protocol === 'kubernetes') {
        // kubectl and client libraries find the listener through their kubeconfig, unchanged.
        const written = writeKubeContext(config.kubeconfig, name, listener.port);
        process.stdout.write(
          `kubeconfig ${config.kubeconfig}: context ${written.context}${written.current ? ' (now current)' : ''}\n`,
        );
        client = {
          program: 'kubectl',
          args: ['--context', written.context],
          defaults: ['get', 'namespaces'],
        };
      }
      process.stdout.write(`connect with: ${shellLine(client)}\n`);
      if (listener.client) process.stdout.write(`(${listener.client.note})\n`);
      // A saved login is refreshed before it expires, however long connect runs.
      keepLoginFresh((message) => report(`tollgate connect: ${message}`));
      stopOnSignal(listener);
    });
}

function stopOnSignal(listener: LocalListener): void {
  const stop = () => {
    void listener.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The local port is taken: which port, and what to do, instead of `listen EADDRINUSE`. */
function listenError(error: unknown, port: number): unknown {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE') return error;
  return new Error(
    `127.0.0.1:${port} is already in use (another program, another \`tollgate connect\` or a gateway ` +
      `listener is there): choose another port with --port, or --port 0 for a free one`,
  );
}
