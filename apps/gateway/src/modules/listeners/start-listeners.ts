import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { INestApplicationContext } from '@nestjs/common';
import { ConfigError } from '@tollgate/config';
import { formatFingerprint } from '@tollgate/proto';
import type { Logger } from 'pino';
import { addressInUse } from '../../common/errors/address-in-use';
import type { GatewayListener, ListenerProtocol } from './gateway-listener';
import { ListenerSessions } from './listener-sessions';
import { MysqlGatewayListener } from './mysql.listener';
import { PostgresGatewayListener } from './postgres.listener';
import { hostKeyFileFingerprint } from '@tollgate/protocol-ssh';
import { SshKeysService } from '../identity/ssh-keys/ssh-keys.service';
import { SshGatewayListener } from './ssh.listener';

export interface ListenerSettings {
  readonly host: string;
  /** Off when undefined. */
  readonly postgresPort?: number;
  /** Off when undefined. */
  readonly mysqlPort?: number;
  /** PEM certificate and key the listeners present; without them they speak plain text (loopback only). */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  /** Off when undefined. */
  readonly sshPort?: number;
  /** The SSH listener's host key (OpenSSH private key), kept in the data directory. */
  readonly sshHostKey?: string;
  /** How long a client may take to present its credential (default 30 s). */
  readonly loginTimeoutMs?: number;
}

export interface RunningListeners {
  /** host:port of the PostgreSQL listener, when it runs. */
  readonly postgresAddress?: string;
  /** host:port of the MySQL listener, when it runs. */
  readonly mysqlAddress?: string;
  /** SHA-256 fingerprint of the listeners' certificate (`sha256:AB:...`), with TLS. */
  readonly fingerprint?: string;
  /** host:port of the SSH listener, when it runs. */
  readonly sshAddress?: string;
  /** The SSH listener's host key fingerprint (`SHA256:...`, as ssh-keygen -lf prints it). */
  readonly sshFingerprint?: string;
  close(): Promise<void>;
}

/** Reads the listeners' certificate and key files named by --tls-cert and --tls-key. */
export function readListenerTls(certFile: string, keyFile: string): { cert: Buffer; key: Buffer } {
  const read = (file: string, setting: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError([
        `${setting}: cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
  };
  return {
    cert: read(certFile, '--tls-cert (or TOLLGATE_TLS_CERT)'),
    key: read(keyFile, '--tls-key (or TOLLGATE_TLS_KEY)'),
  };
}

const LISTENER_NAMES: Partial<Record<ListenerProtocol, string>> = {
  postgres: 'PostgreSQL',
  mysql: 'MySQL',
  ssh: 'SSH',
};

/** Starts the configured protocol listeners; each accepted socket goes to the shared pipeline. */
export async function startGatewayListeners(
  app: INestApplicationContext,
  settings: ListenerSettings,
  logger: Logger,
): Promise<RunningListeners> {
  const ssh = settings.sshPort !== undefined && settings.sshHostKey ? settings.sshHostKey : undefined;
  if (settings.postgresPort === undefined && settings.mysqlPort === undefined && ssh === undefined) {
    return { close: async () => undefined };
  }
  let context: SecureContext | undefined;
  let fingerprint: string | undefined;
  if (settings.tls) {
    try {
      context = createSecureContext({
        cert: settings.tls.cert,
        key: settings.tls.key,
        minVersion: 'TLSv1.2',
      });
      fingerprint = formatFingerprint(new X509Certificate(settings.tls.cert).fingerprint256);
    } catch (error) {
      throw new ConfigError([
        `--tls-cert and --tls-key (or TOLLGATE_TLS_CERT and TOLLGATE_TLS_KEY): not a usable PEM certificate and key: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
  }
  const pipeline = app.get(ListenerSessions);
  const running: { address: string; close: () => Promise<void> }[] = [];
  const closeAll = async () => {
    await Promise.all(running.map((listener) => listener.close()));
  };
  const start = async (listener: GatewayListener, port: number | undefined) => {
    if (port === undefined) return undefined;
    const started = await listen(listener, settings.host, port, pipeline, logger);
    running.push(started);
    return started.address;
  };
  try {
    const loginTimeoutMs = settings.loginTimeoutMs ?? 30_000;
    const postgresAddress = await start(
      new PostgresGatewayListener(context, loginTimeoutMs),
      settings.postgresPort,
    );
    const mysqlAddress = await start(new MysqlGatewayListener(context), settings.mysqlPort);
    // SSH brings its own encryption (the gateway's host key), so it needs no certificate.
    const sshKeys = app.get(SshKeysService);
    const sshAddress = ssh
      ? await start(
          new SshGatewayListener(ssh, loginTimeoutMs, (fingerprint) => sshKeys.isRegistered(fingerprint)),
          settings.sshPort,
        )
      : undefined;
    return {
      ...(postgresAddress ? { postgresAddress } : {}),
      ...(mysqlAddress ? { mysqlAddress } : {}),
      ...(ssh && sshAddress ? { sshAddress, sshFingerprint: hostKeyFileFingerprint(ssh) } : {}),
      ...(fingerprint ? { fingerprint } : {}),
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

async function listen(
  listener: GatewayListener,
  host: string,
  port: number,
  pipeline: ListenerSessions,
  logger: Logger,
): Promise<{ address: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    pipeline.serve(listener, socket).catch((error: unknown) => {
      logger.error({ err: error, listener: listener.protocol }, 'listener session failed');
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        addressInUse(
          error,
          `${LISTENER_NAMES[listener.protocol] ?? listener.protocol} listener`,
          `${host}:${port}`,
          `--${listener.protocol}-port (or TOLLGATE_${listener.protocol.toUpperCase()}_PORT)`,
        ),
      ),
    );
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  const address =
    typeof bound === 'object' && bound
      ? `${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`
      : `${host}:${port}`;
  return {
    address,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
