import { resolve } from 'node:path';
import { z } from 'zod';
import { readSettings, type Environment, type SettingOverrides, type SettingValues } from './config-source';
import {
  directory,
  host,
  httpUrl,
  logFormat,
  logLevel,
  port,
  positiveInt,
  postgresUrl,
} from './setting-schemas';
import { ConfigError } from './config.error';
import { identityProblems, identitySettings } from './identity.config';
import { samlProblems, samlSettings } from './saml.config';
import { isLoopbackHost } from './tunnel-endpoint';

export const gatewaySettings = {
  host: {
    env: 'TOLLGATE_HOST',
    flag: '--host',
    schema: host('127.0.0.1'),
    expected: 'a host name or IP address to listen on (default 127.0.0.1)',
  },
  httpPort: {
    env: 'TOLLGATE_HTTP_PORT',
    flag: '--http-port',
    schema: port(8009),
    expected: 'a TCP port number 0-65535 (default 8009; 0 picks a free port)',
  },
  grpcPort: {
    env: 'TOLLGATE_GRPC_PORT',
    flag: '--grpc-port',
    schema: port(8010),
    expected: 'a TCP port number 0-65535 (default 8010; 0 picks a free port)',
  },
  dataDir: {
    env: 'TOLLGATE_DATA_DIR',
    flag: '--data-dir',
    schema: directory,
    expected: 'a directory path for the embedded store (default ~/.tollgate/data)',
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    flag: '--database-url',
    schema: postgresUrl,
    expected: 'a PostgreSQL URL such as postgres://user:pass@host:5432/tollgate',
  },
  logLevel: {
    env: 'TOLLGATE_LOG_LEVEL',
    flag: '--log-level',
    schema: logLevel,
    expected: 'one of fatal, error, warn, info, debug, trace, silent',
  },
  logFormat: {
    env: 'TOLLGATE_LOG_FORMAT',
    flag: '--log-format',
    schema: logFormat,
    expected: 'json or pretty',
  },
  logFile: {
    env: 'TOLLGATE_LOG_FILE',
    flag: '--log-file',
    schema: z
      .string()
      .min(1)
      .transform((value) => resolve(value))
      .optional(),
    expected:
      'a file the log is appended to (JSON lines); the terminal then shows only warnings and errors, or everything at debug and trace',
  },
  bodyLimitBytes: {
    env: 'TOLLGATE_BODY_LIMIT_BYTES',
    schema: positiveInt(1024 * 1024, 64 * 1024 * 1024),
    expected: 'a request body limit in bytes, 1 to 67108864 (default 1048576)',
  },
  replicaLivenessMs: {
    env: 'TOLLGATE_REPLICA_LIVENESS_MS',
    schema: positiveInt(20_000, 600_000),
    expected:
      "milliseconds after a gateway replica's last heartbeat before the other replicas close the sessions it relayed as lost, 1 to 600000 (default 20000)",
  },
  shutdownTimeoutMs: {
    env: 'TOLLGATE_SHUTDOWN_TIMEOUT_MS',
    schema: positiveInt(10_000, 600_000),
    expected: 'milliseconds to let in-flight requests finish on SIGTERM, 1 to 600000 (default 10000)',
  },
  grpcTlsCert: {
    env: 'TOLLGATE_GRPC_TLS_CERT',
    schema: z.string().min(1).optional(),
    expected:
      'a PEM certificate (chain) file for the gRPC endpoint; with TOLLGATE_GRPC_TLS_KEY it serves TLS',
  },
  grpcTlsKey: {
    env: 'TOLLGATE_GRPC_TLS_KEY',
    schema: z.string().min(1).optional(),
    expected: 'the PEM private key file of TOLLGATE_GRPC_TLS_CERT',
  },
  postgresPort: {
    env: 'TOLLGATE_POSTGRES_PORT',
    flag: '--postgres-port',
    schema: z.coerce.number().int().min(0).max(65535).optional(),
    expected:
      'a TCP port number 0-65535 for the PostgreSQL listener (off unless set; `tollgate start`: 8432; 0 picks a free port)',
  },
  mysqlPort: {
    env: 'TOLLGATE_MYSQL_PORT',
    flag: '--mysql-port',
    schema: z.coerce.number().int().min(0).max(65535).optional(),
    expected:
      'a TCP port number 0-65535 for the MySQL listener (off unless set; `tollgate start`: 8306; 0 picks a free port)',
  },
  sshPort: {
    env: 'TOLLGATE_SSH_PORT',
    flag: '--ssh-port',
    schema: z.coerce.number().int().min(0).max(65535).optional(),
    expected:
      'a TCP port number 0-65535 for the SSH listener (off unless set; `tollgate start`: 8022; 0 picks a free port)',
  },
  listenerLoginTimeoutMs: {
    env: 'TOLLGATE_LISTENER_LOGIN_TIMEOUT_MS',
    schema: positiveInt(30_000, 600_000),
    expected:
      'milliseconds a client of a protocol listener may take to present its credential before it is cut off, 1 to 600000 (default 30000)',
  },
  tlsCert: {
    env: 'TOLLGATE_TLS_CERT',
    flag: '--tls-cert',
    schema: z.string().min(1).optional(),
    expected:
      'a PEM certificate (chain) file for the protocol listeners; with TOLLGATE_TLS_KEY they serve TLS',
  },
  tlsKey: {
    env: 'TOLLGATE_TLS_KEY',
    flag: '--tls-key',
    schema: z.string().min(1).optional(),
    expected: 'the PEM private key file of TOLLGATE_TLS_CERT',
  },
  auditWebhookUrl: {
    env: 'TOLLGATE_AUDIT_WEBHOOK_URL',
    schema: httpUrl.optional(),
    expected: 'an http(s) URL that receives every committed audit record as signed JSON',
  },
  reviewWebhookUrl: {
    env: 'TOLLGATE_REVIEW_WEBHOOK_URL',
    schema: httpUrl.optional(),
    expected:
      'an http(s) URL (e.g. a Slack incoming webhook) told of review requests and decisions as {"text": ...}',
  },
  webhookSecret: {
    env: 'TOLLGATE_WEBHOOK_SECRET',
    secret: true,
    schema: z.string().min(16).optional(),
    expected: 'at least 16 characters; webhook bodies are signed with HMAC-SHA256 under it',
  },
  consoleDir: {
    env: 'TOLLGATE_CONSOLE_DIR',
    schema: z
      .string()
      .min(1)
      .transform((value) => resolve(value))
      .optional(),
    expected: 'the directory of the built web console (default: the console built beside the gateway)',
  },
  ...identitySettings,
  ...samlSettings,
} as const;

export type GatewayConfig = SettingValues<typeof gatewaySettings>;
export type GatewayConfigOverrides = SettingOverrides<typeof gatewaySettings>;

/**
 * Validates the gateway's configuration once; throws ConfigError naming every bad setting.
 * `fallbacks` are a command's own defaults, used where neither a flag nor the environment says.
 */
export function loadGatewayConfig(
  overrides: GatewayConfigOverrides = {},
  env?: Environment,
  fallbacks: GatewayConfigOverrides = {},
): GatewayConfig {
  const config = readSettings(gatewaySettings, overrides, env, fallbacks);
  const problems = [...identityProblems(config), ...samlProblems(config)];
  if (!config.grpcTlsCert !== !config.grpcTlsKey) {
    problems.push('TOLLGATE_GRPC_TLS_CERT and TOLLGATE_GRPC_TLS_KEY: set both or neither');
  }
  if (!config.tlsCert !== !config.tlsKey) {
    problems.push(
      '--tls-cert and --tls-key (or TOLLGATE_TLS_CERT and TOLLGATE_TLS_KEY): set both or neither',
    );
  }
  const listeners = [
    ['--postgres-port (or TOLLGATE_POSTGRES_PORT)', config.postgresPort],
    ['--mysql-port (or TOLLGATE_MYSQL_PORT)', config.mysqlPort],
  ] as const;
  for (const [setting, port] of listeners) {
    if (port !== undefined && !config.tlsCert && !isLoopbackHost(config.host)) {
      problems.push(
        `${setting}: the listener would carry credentials in plain text on ${config.host}; ` +
          'set --tls-cert and --tls-key (or TOLLGATE_TLS_CERT and TOLLGATE_TLS_KEY), or listen on loopback',
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
