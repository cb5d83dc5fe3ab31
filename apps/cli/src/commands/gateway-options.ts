import { Option, type Command } from 'commander';
import type { GatewayConfigOverrides } from '@tollgate/config';

/** Flags shared by `start` and `gateway`; values are validated by @tollgate/config, not here. */
export function addGatewayOptions(command: Command): Command {
  return command
    .addOption(new Option('--host <host>', 'address to listen on (default 127.0.0.1)'))
    .addOption(new Option('--http-port <port>', 'HTTP API and console port (default 8009)'))
    .addOption(new Option('--grpc-port <port>', 'gRPC port for agents and clients (default 8010)'))
    .addOption(new Option('--data-dir <dir>', 'embedded store directory (default ~/.tollgate/data)'))
    .addOption(
      new Option('--database-url <url>', 'use PostgreSQL instead of the embedded store (or DATABASE_URL)'),
    )
    .addOption(new Option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent'))
    .addOption(new Option('--log-format <format>', 'json|pretty'))
    .addOption(
      new Option(
        '--log-file <file>',
        'append the log here too; the terminal then shows warnings and errors, or everything at debug (or TOLLGATE_LOG_FILE)',
      ),
    )
    .addOption(
      new Option(
        '--public-url <url>',
        'URL users reach the gateway at (OIDC callback; or TOLLGATE_PUBLIC_URL)',
      ),
    )
    .addOption(
      new Option('--oidc-issuer <url>', 'OIDC identity provider issuer URL (or TOLLGATE_OIDC_ISSUER)'),
    )
    .addOption(
      new Option(
        '--grpc-tls-cert <file>',
        'PEM certificate (chain) for the gRPC endpoint; with --grpc-tls-key it serves TLS (or TOLLGATE_GRPC_TLS_CERT)',
      ),
    )
    .addOption(
      new Option('--grpc-tls-key <file>', 'PEM private key of --grpc-tls-cert (or TOLLGATE_GRPC_TLS_KEY)'),
    )
    .addOption(
      new Option(
        '--postgres-port <port>',
        'listen for PostgreSQL clients on this port (off unless set; or TOLLGATE_POSTGRES_PORT)',
      ),
    )
    .addOption(
      new Option(
        '--mysql-port <port>',
        'listen for MySQL/MariaDB clients on this port (off unless set; or TOLLGATE_MYSQL_PORT)',
      ),
    )
    .addOption(
      new Option(
        '--ssh-port <port>',
        'listen for SSH clients on this port: user CONNECTION or USER%CONNECTION, password a Tollgate credential (off unless set; or TOLLGATE_SSH_PORT)',
      ),
    )
    .addOption(
      new Option(
        '--tls-cert <file>',
        'PEM certificate (chain) for the protocol listeners; with --tls-key they serve TLS (or TOLLGATE_TLS_CERT)',
      ),
    )
    .addOption(new Option('--tls-key <file>', 'PEM private key of --tls-cert (or TOLLGATE_TLS_KEY)'))
    .addOption(
      new Option(
        '--saml-idp-metadata <url or file>',
        'SAML identity provider metadata, an https URL or a file (or TOLLGATE_SAML_IDP_METADATA)',
      ),
    )
    .addOption(new Option('--dev-idp [on]', 'run the development IdP with demo users (true|false)'))
    .addOption(new Option('--dev-idp-port <port>', 'development IdP port (default 8011)'))
    .addOption(
      new Option('--dev-saml [on]', 'run the development SAML IdP with the same demo users (true|false)'),
    )
    .addOption(new Option('--dev-saml-port <port>', 'development SAML IdP port (default 8012)'));
}

export interface GatewayFlags {
  host?: string;
  httpPort?: string;
  grpcPort?: string;
  dataDir?: string;
  databaseUrl?: string;
  logLevel?: string;
  logFormat?: string;
  logFile?: string;
  publicUrl?: string;
  oidcIssuer?: string;
  grpcTlsCert?: string;
  grpcTlsKey?: string;
  postgresPort?: string;
  mysqlPort?: string;
  sshPort?: string;
  tlsCert?: string;
  tlsKey?: string;
  devIdp?: string | boolean;
  devIdpPort?: string;
  samlIdpMetadata?: string;
  devSaml?: string | boolean;
  devSamlPort?: string;
}

export function gatewayOverrides(flags: GatewayFlags): GatewayConfigOverrides {
  return {
    host: flags.host,
    httpPort: flags.httpPort,
    grpcPort: flags.grpcPort,
    dataDir: flags.dataDir,
    databaseUrl: flags.databaseUrl,
    logLevel: flags.logLevel,
    logFormat: flags.logFormat,
    logFile: flags.logFile,
    publicUrl: flags.publicUrl,
    oidcIssuer: flags.oidcIssuer,
    grpcTlsCert: flags.grpcTlsCert,
    grpcTlsKey: flags.grpcTlsKey,
    postgresPort: flags.postgresPort,
    mysqlPort: flags.mysqlPort,
    sshPort: flags.sshPort,
    tlsCert: flags.tlsCert,
    tlsKey: flags.tlsKey,
    devIdp: flags.devIdp,
    devIdpPort: flags.devIdpPort,
    samlIdpMetadata: flags.samlIdpMetadata,
    devSaml: flags.devSaml,
    devSamlPort: flags.devSamlPort,
  };
}
