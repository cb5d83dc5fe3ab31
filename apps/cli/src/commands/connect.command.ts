import { Command, Option } from 'commander';
import { loadConnectConfig } from '@tollgate/config';
import { connectionProtocol, defaultLocalPort } from '../connect/default-port';
import { startLocalListener } from '../connect/local-listener';
import { startSshListener } from '../connect/ssh-listener';
import { checkGatewayCertificate } from '../connect/tunnel-session';
import { CLI_VERSION } from '../version';
import { currentAccessToken } from '../credentials/access-token';

interface ConnectFlags {
  port?: string;
  grpc?: string;
  insecure?: boolean;
  caFile?: string;
  gatewayFingerprint?: string;
}

/** `tollgate connect NAME`: a local listener that tunnels each accepted socket to the connection. */
export function connectCommand(): Command {
  return new Command('connect')
    .description('listen on 127.0.0.1 and relay each connection through the gateway to NAME')
    .argument('<name>', 'connection name')
    .addOption(
      new Option(
        '--port <port>',
        "local port (default: the protocol's, e.g. 5433 for postgres, 8999 for tcp; 0 picks a free port)",
      ),
    )
    .addOption(
      new Option('--grpc <url>', 'gateway gRPC URL (default http://127.0.0.1:8010; or TOLLGATE_GRPC_URL)'),
    )
    .addOption(new Option('--insecure', 'allow plain text to a gateway that is not on loopback'))
    .addOption(new Option('--ca-file <file>', 'CA certificates for the gateway (default: system roots)'))
    .addOption(
      new Option(
        '--gateway-fingerprint <sha256>',
        "pin the gateway's TLS certificate: sha256:AB:CD:... (or TOLLGATE_GATEWAY_FINGERPRINT)",
      ),
    )
    .action(async (name: string, flags: ConnectFlags) => {
      const config = loadConnectConfig({
        port: flags.port,
        grpcUrl: flags.grpc,
        insecure: flags.insecure,
        caFile: flags.caFile,
        gatewayFingerprint: flags.gatewayFingerprint,
      });
      const token = await currentAccessToken();
      const report = (line: string) => process.stderr.write(`${line}\n`);
      await checkGatewayCertificate(config);
      let port: number;
      let protocol: string;
      if (config.port === undefined) {
        protocol = await connectionProtocol(name, token, report);
        port = defaultLocalPort(protocol);
      } else {
        // With --port a refusal is reported per session, as the listener opens them.
        protocol = await connectionProtocol(name, token, () => undefined).catch(() => 'tcp');
        port = config.port;
      }
      // SSH is served by a local SSH server; every other protocol's client is relayed byte for byte.
      const start = protocol === 'ssh' ? startSshListener : startLocalListener;
      const listener = await start(config, {
        connectionName: name,
        port,
        token,
        clientVersion: CLI_VERSION,
        report,
      });
      process.stdout.write(`listening on 127.0.0.1:${listener.port} for "${name}"; Ctrl-C to stop\n`);
      const stop = () => {
        void listener.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
