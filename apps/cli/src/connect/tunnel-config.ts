import { loadConnectConfig, type ConnectConfig } from '@tollgate/config';
import type { TunnelFlags } from '../commands/tunnel-options';
import { currentAccessToken } from '../credentials/access-token';
import { advertisedGrpcUrl } from './gateway-grpc-url';
import { checkGatewayCertificate } from './tunnel-session';

/**
 * The settings connect and exec reach the gateway with: bad flags are said before anything else,
 * then the saved login is read and the gRPC address the gateway advertises is asked for (unless
 * --grpc names one), and the gateway's certificate checked against a pinned fingerprint.
 */
export async function tunnelConfig(
  flags: TunnelFlags,
  more: { readonly port?: string; readonly kubeconfig?: string } = {},
): Promise<{ readonly config: ConnectConfig; readonly token: string }> {
  const overrides = {
    ...more,
    grpcUrl: flags.grpc,
    insecure: flags.insecure,
    caFile: flags.caFile,
    gatewayFingerprint: flags.gatewayFingerprint,
  };
  loadConnectConfig(overrides);
  const token = await currentAccessToken();
  const advertised = flags.grpc === undefined ? await advertisedGrpcUrl(token) : undefined;
  const config = loadConnectConfig(overrides, undefined, advertised ? { grpcUrl: advertised } : {});
  await checkGatewayCertificate(config);
  return { config, token };
}
