import { Option, type Command } from 'commander';

/** The flags of the commands that reach a connection through the gateway's tunnel (connect, exec). */
export interface TunnelFlags {
  grpc?: string;
  insecure?: boolean;
  caFile?: string;
  gatewayFingerprint?: string;
}

/** Adds the tunnel's flags (--grpc, --insecure, --ca-file, --gateway-fingerprint) to `command`. */
export function addTunnelOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--grpc <url>',
        'gateway gRPC URL (default: the one the gateway advertises, else http://127.0.0.1:8010; or TOLLGATE_GRPC_URL)',
      ),
    )
    .addOption(new Option('--insecure', 'allow plain text to a gateway that is not on loopback'))
    .addOption(new Option('--ca-file <file>', 'CA certificates for the gateway (default: system roots)'))
    .addOption(
      new Option(
        '--gateway-fingerprint <sha256>',
        "pin the gateway's TLS certificate: sha256:AB:CD:... (or TOLLGATE_GATEWAY_FINGERPRINT)",
      ),
    );
}
