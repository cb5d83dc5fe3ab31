import { join } from 'node:path';
import { Command } from 'commander';
import { loadGatewayConfig } from '@tollgate/config';
import type { RunningGateway } from '@tollgate/gateway';
import { installedCommand } from '../installed-command';
import { addGatewayOptions, gatewayOverrides, type GatewayFlags } from './gateway-options';

/**
 * The quickstart: everything on one machine with the embedded store. Quiet: the banner comes first,
 * the log goes to a file in the data directory (the terminal shows warnings and errors, or
 * everything at --log-level debug).
 */
export function startCommand(): Command {
  return addGatewayOptions(
    new Command('start').description(
      'quickstart: run the gateway on the embedded store and print where it listens (log: DATA_DIR/gateway.log)',
    ),
  ).action(async (flags: GatewayFlags) => {
    const overrides = { logFormat: 'pretty', devIdp: true, ...stripUndefined(gatewayOverrides(flags)) };
    // PostgreSQL and MySQL clients reach connections through the gateway itself, over TLS (self-signed
    // here); SSH clients too, with the gateway's own host key (kept in the data directory).
    const defaults = { postgresPort: 8432, mysqlPort: 8306, sshPort: 8022 };
    const settled = loadGatewayConfig(overrides, undefined, defaults);
    const logFile = settled.logFile ?? join(settled.dataDir, 'gateway.log');
    const [{ runGatewayProcess }, { startLocalAgent }] = await Promise.all([
      import('@tollgate/gateway'),
      import('./local-agent.js'),
    ]);
    await runGatewayProcess(
      { ...overrides, logFile },
      (gateway) => {
        printBanner(gateway, logFile, settled.logLevel);
        startLocalAgent(gateway, overrides);
      },
      { defaults, selfSignedListenerTls: true },
    );
  });
}

function printBanner(gateway: RunningGateway, logFile: string, logLevel: string): void {
  const tollgate = installedCommand();
  const demoUsers = gateway.devIdp?.users.map((u) => u.username).join(', ');
  const watching = logLevel === 'debug' || logLevel === 'trace';
  process.stdout.write(
    // Within the first 20 lines of `npm start` (scripts/quickstart-smoke.mjs checks): keep it short.
    [
      'Tollgate is running.',
      `  console   ${gateway.httpUrl}/${demoUsers ? '   (sign in as admin / admin-demo)' : ''}`,
      `  API       ${gateway.httpUrl}/api/v1   (also /api/v1/openapi.json, /healthz, /metrics)`,
      `  gRPC      ${gateway.grpcAddress}   (agents and clients)`,
      ...(gateway.grpcFingerprint
        ? [`  TLS       certificate ${gateway.grpcFingerprint}   (pin it with --gateway-fingerprint)`]
        : []),
      ...listenerLines(gateway),
      `  store     ${gateway.store}   log: ${logFile}${watching ? '' : ' (--log-level debug: here too)'}`,
      ...(gateway.devIdp
        ? [`  dev IdP   ${gateway.devIdp.issuer}   demo users (password <user>-demo): ${demoUsers}`]
        : []),
      ...(gateway.devSamlIdp
        ? [`  dev SAML  ${gateway.devSamlIdp.metadataUrl}   same demo users and passwords`]
        : []),
      ...(gateway.devIdp ? [`  log in    ${tollgate.command} login --gateway ${gateway.httpUrl}`] : []),
      ...(gateway.devSamlIdp
        ? [`  log in    ${tollgate.command} login --idp saml --gateway ${gateway.httpUrl}`]
        : []),
      `  then      ${tollgate.command} ls   (what you may use; ${tollgate.command} connect NAME prints the client command)`,
      ...(tollgate.hint ? [`  CLI       ${tollgate.hint}`] : []),
      'Press Ctrl-C to stop.',
      '',
    ].join('\n') + '\n',
  );
}

function listenerLines(gateway: RunningGateway): string[] {
  const port = (address: string) => address.slice(address.lastIndexOf(':') + 1);
  const lines: string[] = [];
  if (gateway.postgresAddress) {
    lines.push(
      `  postgres  ${gateway.postgresAddress}   database = connection name, password = a Tollgate token (tollgate token print)`,
      `            psql "host=localhost port=${port(gateway.postgresAddress)} dbname=CONNECTION user=EMAIL sslmode=require"`,
    );
  }
  if (gateway.mysqlAddress) {
    lines.push(
      `  mysql     ${gateway.mysqlAddress}   the same (sent in clear over TLS): mariadb -h 127.0.0.1 -P ${port(gateway.mysqlAddress)} --ssl -D CONNECTION -u EMAIL -p`,
    );
  }
  if (lines.length > 0 && gateway.listenerFingerprint) {
    lines.push(
      `            TLS certificate ${gateway.listenerFingerprint}${gateway.listenerCertFile ? `   (${gateway.listenerCertFile}: to verify it)` : ''}`,
    );
  }
  if (gateway.sshAddress) {
    lines.push(
      `  ssh       ssh -p ${port(gateway.sshAddress)} CONNECTION@localhost   password = a Tollgate token; host key ${gateway.sshFingerprint ?? ''}`,
    );
  }
  return lines;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
