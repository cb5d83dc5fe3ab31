import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { ConfigError, type GatewayConfig } from '@tollgate/config';
import { formatFingerprint } from '@tollgate/proto';
import { loadOrCreateHostKey } from '@tollgate/protocol-ssh';
import { openStore, type Store } from '@tollgate/store';
import type { Logger } from 'pino';
import { addressInUse } from './common/errors/address-in-use';
import { createLogger, NestPinoLogger } from './common/logging/logger';
import { ProblemDetailsFilter } from './common/problem/problem-details.filter';
import { GatewayModule } from './gateway.module';
import { AuditWriter } from './modules/audit/audit-writer';
import { startGrpcServer, type RunningGrpcServer } from './grpc/grpc-server';
import type { DevIdp } from './modules/identity/dev-idp/dev-idp.server';
import type { DevSamlIdp } from './modules/identity/dev-idp/dev-saml-idp.server';
import { defaultConsoleDir } from './modules/console/console-assets';
import { registerConsole } from './modules/console/register-console';
import { GrpcEndpoint } from './modules/health/gateway-info.controller';
import { startIdentityRuntime } from './modules/identity/identity-runtime';
import { OidcRelyingPartyService } from './modules/identity/oidc/oidc-relying-party.service';
import { selfSignedListenerCertificate } from './modules/listeners/listener-certificate';
import {
  readListenerTls,
  startGatewayListeners,
  type ListenerSettings,
  type RunningListeners,
} from './modules/listeners/start-listeners';
import { MetricsService } from './modules/metrics/metrics.service';
import { registerTunnelServices } from './modules/tunnel/register-tunnel-services';
import { buildOpenApiDocument, OPENAPI_PATH } from './openapi/openapi-document';
import { GATEWAY_VERSION } from './version';

export interface RunningGateway {
  readonly httpUrl: string;
  /** host:port of the gRPC endpoint for agents and clients. */
  readonly grpcAddress: string;
  /**
   * With TLS on the gRPC endpoint: its certificate's SHA-256 fingerprint (`sha256:AB:CD:...`),
   * which agents and `tollgate connect` can pin with --gateway-fingerprint.
   */
  readonly grpcFingerprint?: string;
  /** host:port of the MySQL listener (`--mysql-port`), when it runs. */
  readonly mysqlAddress?: string;
  /** host:port of the PostgreSQL listener (`--postgres-port`), when it runs. */
  readonly postgresAddress?: string;
  /** SHA-256 fingerprint of the protocol listeners' TLS certificate, when they serve TLS. */
  readonly listenerFingerprint?: string;
  /** The file of that certificate (clients that verify it: psql `sslrootcert=`). */
  readonly listenerCertFile?: string;
  /** host:port of the SSH listener (`--ssh-port`), when it runs. */
  readonly sshAddress?: string;
  /** Its host key's fingerprint (`SHA256:...`), for known_hosts. */
  readonly sshFingerprint?: string;
  readonly store: string;
  readonly logger: Logger;
  /** The development identity provider (demo users), when TOLLGATE_DEV_IDP is on. */
  readonly devIdp?: DevIdp;
  /** The development SAML identity provider (same demo users), when TOLLGATE_DEV_SAML is on. */
  readonly devSamlIdp?: DevSamlIdp;
  /** A provider of the running application, for in-process callers such as tests. */
  resolve<T>(type: abstract new (...args: never[]) => T): T;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes the store. */
  close(): Promise<void>;
}

export interface StartGatewayOptions {
  readonly logger?: Logger;
  /**
   * Without --tls-cert/--tls-key, the protocol listeners serve TLS with a self-signed certificate
   * kept in the data directory (`tollgate start`).
   */
  readonly selfSignedListenerTls?: boolean;
}

export async function startGateway(
  config: GatewayConfig,
  options: StartGatewayOptions = {},
): Promise<RunningGateway> {
  const logger =
    options.logger ??
    createLogger({ level: config.logLevel, format: config.logFormat, file: config.logFile });
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    log: (level, msg, fields) => logger[level]({ ...fields, component: 'store' }, msg),
  });
  let grpc: RunningGrpcServer | undefined;
  try {
    const grpcFingerprint = config.grpcTlsCert ? certificateFingerprint(config.grpcTlsCert) : undefined;
    grpc = await startGrpcServer(
      config.host,
      config.grpcPort,
      logger.child({ component: 'grpc' }),
      config.grpcTlsCert && config.grpcTlsKey
        ? { certFile: config.grpcTlsCert, keyFile: config.grpcTlsKey }
        : undefined,
    );
    return await startHttp(config, store, grpc, logger, grpcFingerprint, options);
  } catch (error) {
    await grpc?.close(0);
    await store.close();
    throw error;
  }
}

async function startHttp(
  config: GatewayConfig,
  store: Store,
  grpc: RunningGrpcServer,
  logger: Logger,
  grpcFingerprint: string | undefined,
  options: StartGatewayOptions,
): Promise<RunningGateway> {
  const metrics = new MetricsService();
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    // Idle keep-alive sockets are closed at shutdown; sockets with a request in flight are not.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.forRoot({
      store,
      metrics,
      identity: config,
      webhooks: config,
      logger,
      grpc: new GrpcEndpoint(grpc.address, !!(config.grpcTlsCert && config.grpcTlsKey)),
      tunnel: { replicaLivenessMs: config.replicaLivenessMs },
    }),
    adapter,
    {
      logger: new NestPinoLogger(logger.child({ component: 'nest' })),
      abortOnError: false,
    },
  );
  app.useGlobalFilters(new ProblemDetailsFilter());
  registerTunnelServices(app, grpc);

  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    metrics.observeRequest(request.method, route, reply.statusCode, seconds);
    logger.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'http',
    );
  });

  const document = buildOpenApiDocument(app, GATEWAY_VERSION);
  fastify.get(OPENAPI_PATH, async () => document);
  const rp = app.get(OidcRelyingPartyService);
  registerConsole(fastify, {
    dir: config.consoleDir ?? defaultConsoleDir(),
    publicBaseUrl: () => rp.publicBaseUrl,
    logger,
  });

  await app.listen(config.httpPort, config.host).catch((error: unknown) => {
    throw addressInUse(
      error,
      'HTTP API',
      `${config.host}:${config.httpPort}`,
      '--http-port (or TOLLGATE_HTTP_PORT)',
    );
  });
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.httpPort;
  const httpUrl = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const identity = await startIdentityRuntime(app, config, httpUrl, logger).catch(async (error: unknown) => {
    await app.close();
    throw error;
  });
  let listeners: RunningListeners;
  let listenerCertFile: string | undefined;
  try {
    let tls: ListenerSettings['tls'];
    if (config.tlsCert && config.tlsKey) {
      tls = readListenerTls(config.tlsCert, config.tlsKey);
      listenerCertFile = config.tlsCert;
    } else if (
      options.selfSignedListenerTls &&
      (config.postgresPort !== undefined || config.mysqlPort !== undefined)
    ) {
      const generated = await selfSignedListenerCertificate(config.dataDir);
      tls = generated;
      listenerCertFile = generated.certFile;
    }
    listeners = await startGatewayListeners(
      app,
      {
        host: config.host,
        ...(config.postgresPort !== undefined ? { postgresPort: config.postgresPort } : {}),
        ...(config.mysqlPort !== undefined ? { mysqlPort: config.mysqlPort } : {}),
        ...(tls ? { tls } : {}),
        ...(config.sshPort !== undefined
          ? {
              sshPort: config.sshPort,
              sshHostKey: loadOrCreateHostKey(join(config.dataDir, 'ssh_host_ed25519_key')),
            }
          : {}),
        loginTimeoutMs: config.listenerLoginTimeoutMs,
      },
      logger.child({ component: 'listeners' }),
    );
  } catch (error) {
    await Promise.all([app.close(), identity.close()]);
    throw error;
  }
  logger.info(
    {
      httpUrl,
      grpcAddress: grpc.address,
      ...(grpcFingerprint ? { grpcFingerprint } : {}),
      ...(listeners.postgresAddress ? { postgresAddress: listeners.postgresAddress } : {}),
      ...(listeners.mysqlAddress ? { mysqlAddress: listeners.mysqlAddress } : {}),
      ...(listeners.fingerprint ? { listenerFingerprint: listeners.fingerprint } : {}),
      ...(listeners.sshAddress
        ? { sshAddress: listeners.sshAddress, sshFingerprint: listeners.sshFingerprint }
        : {}),
      store: store.describe,
      version: GATEWAY_VERSION,
    },
    'gateway listening',
  );

  const auditWriter = app.get(AuditWriter);
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      logger.info('gateway shutting down');
      const forced = setTimeout(() => {
        logger.warn(
          { timeoutMs: config.shutdownTimeoutMs },
          'shutdown timeout: closing remaining connections',
        );
        fastify.server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      try {
        await Promise.all([
          listeners.close(),
          app.close(),
          grpc.close(config.shutdownTimeoutMs),
          identity.close(),
        ]);
      } finally {
        clearTimeout(forced);
        // Records that wait for company (command results, normal closes, open states) go now,
        // not with the process.
        await auditWriter.committer.flush();
        await store.close();
        logger.info('gateway stopped');
      }
    })());

  const resolve = <T>(type: abstract new (...args: never[]) => T): T => app.get<T>(type, { strict: false });
  return {
    httpUrl,
    grpcAddress: grpc.address,
    ...(grpcFingerprint ? { grpcFingerprint } : {}),
    ...(listeners.postgresAddress ? { postgresAddress: listeners.postgresAddress } : {}),
    ...(listeners.mysqlAddress ? { mysqlAddress: listeners.mysqlAddress } : {}),
    ...(listeners.fingerprint ? { listenerFingerprint: listeners.fingerprint, listenerCertFile } : {}),
    ...(listeners.sshAddress && listeners.sshFingerprint
      ? { sshAddress: listeners.sshAddress, sshFingerprint: listeners.sshFingerprint }
      : {}),
    store: store.describe,
    logger,
    devIdp: identity.devIdp,
    devSamlIdp: identity.devSamlIdp,
    resolve,
    close,
  };
}

/** The SHA-256 fingerprint of the certificate the gRPC endpoint presents (the first in the file). */
function certificateFingerprint(certFile: string): string {
  try {
    return formatFingerprint(new X509Certificate(readFileSync(certFile)).fingerprint256);
  } catch (error) {
    throw new ConfigError([
      `--grpc-tls-cert (or TOLLGATE_GRPC_TLS_CERT): cannot read a PEM certificate from ${certFile}: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
}
