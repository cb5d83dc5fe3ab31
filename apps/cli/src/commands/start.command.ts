import { Command } from 'commander';
import { runGatewayProcess, type RunningGateway } from '@tollgate/gateway';
import { addGatewayOptions, gatewayOverrides, type GatewayFlags } from './gateway-options';
import { startLocalAgent } from './local-agent';

/** The quickstart: everything on one machine with the embedded store. */
export function startCommand(): Command {
  return addGatewayOptions(
    new Command('start').description(
      'quickstart: run the gateway on the embedded store and print where it listens',
    ),
  ).action(async (flags: GatewayFlags) => {
    const overrides = { logFormat: 'pretty', devIdp: true, ...stripUndefined(gatewayOverrides(flags)) };
    await runGatewayProcess(overrides, (gateway) => {
      printBanner(gateway);
      startLocalAgent(gateway, overrides);
    });
  });
}

function printBanner(gateway: RunningGateway): void {
  process.stdout.write(
    [
      '',
      'Tollgate is running.',
      `  console   ${gateway.httpUrl}/`,
      `  API       ${gateway.httpUrl}/api/v1   (OpenAPI: ${gateway.httpUrl}/api/v1/openapi.json)`,
      `  health    ${gateway.httpUrl}/healthz   metrics: ${gateway.httpUrl}/metrics`,
      `  gRPC      ${gateway.grpcAddress}   (agents and clients)`,
      ...(gateway.grpcFingerprint
        ? [`  TLS       certificate ${gateway.grpcFingerprint}   (pin it with --gateway-fingerprint)`]
        : []),
      `  store     ${gateway.store}`,
      ...(gateway.devIdp
        ? [
            `  dev IdP   ${gateway.devIdp.issuer}   demo users (password <user>-demo): ${gateway.devIdp.users
              .map((u) => u.username)
              .join(', ')}`,
            `  log in    tollgate login --gateway ${gateway.httpUrl}`,
          ]
        : []),
      ...(gateway.devSamlIdp
        ? [
            `  dev SAML  ${gateway.devSamlIdp.metadataUrl}   same demo users and passwords`,
            `  log in    tollgate login --idp saml --gateway ${gateway.httpUrl}`,
          ]
        : []),
      'Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
