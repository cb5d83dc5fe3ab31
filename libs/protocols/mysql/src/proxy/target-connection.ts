import { publicEncrypt, constants as cryptoConstants } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import {
  Capability,
  commonCapabilities,
  hasCapability,
  PROXY_CAPABILITIES,
  PROXY_MARIADB_CAPABILITIES,
} from '../capabilities';
import { cachingSha2Response, nativePasswordResponse, rsaPasswordPlaintext } from '../auth/scramble';
import { ed25519PasswordResponse } from '../auth/ed25519-password';
import {
  parseServerGreeting,
  serializeHandshakeResponse,
  serializeSslRequest,
  type ServerGreeting,
} from '../handshake';
import { MysqlProtocolError } from '../protocol-error';
import { isErrPacket, isOkPacket, parseAuthSwitch, parseErrPacket } from '../response-packets';
import { PacketChannel } from './packet-channel';
import { ACCESS_DENIED, CONNECTION_FAILED, TargetConnectError } from './target-connect.error';
import type { MysqlTargetSettings } from './target-settings';

/** utf8mb4_general_ci: the agent's own leg speaks UTF-8 unless the client asked otherwise. */
const UTF8MB4 = 45;

export interface TargetConnection {
  readonly channel: PacketChannel;
  readonly greeting: ServerGreeting;
  /** The capabilities both sides of the relay use. */
  readonly capabilities: number;
  /** MariaDB's extended capabilities both sides use (0 unless the target is MariaDB). */
  readonly mariadbCapabilities: number;
  /** The server's thread id for this connection (what KILL QUERY names). */
  readonly connectionId: number;
  readonly tls: boolean;
}

export interface TargetLogin {
  /** The client's capabilities; the target leg uses what both the client and the proxy allow. */
  readonly clientCapabilities?: number;
  readonly characterSet?: number;
  /** The client's MariaDB extended capabilities (0 when it sent none); the agent's own: none. */
  readonly clientMariadbCapabilities?: number;
  /** The schema the client asked for, used when the connection names none. */
  readonly database?: string;
  readonly attributes?: ReadonlyMap<string, string>;
}

/**
 * Opens a connection to the target and authenticates with the connection's credential: TLS per
 * `tls.mode`, then mysql_native_password, caching_sha2_password (fast path, or full authentication
 * over TLS or with the server's RSA key), sha256_password, or MariaDB's client_ed25519, whichever
 * the server asks for. Never sends the password in clear text without TLS.
 */
export async function connectTarget(
  settings: MysqlTargetSettings,
  login: TargetLogin = {},
): Promise<TargetConnection> {
  return loginTarget(await openTarget(settings), settings, login);
}

/** A target that greeted and waits for the login: what the proxy greets its client with. */
export interface GreetedTarget {
  readonly socket: Socket;
  readonly channel: PacketChannel;
  readonly greeting: ServerGreeting;
}

/** Connects and reads the server's greeting. */
export async function openTarget(settings: MysqlTargetSettings): Promise<GreetedTarget> {
  const where = `${settings.host}:${settings.port}`;
  const socket = await openSocket(settings);
  const channel = new PacketChannel(socket, 'the target');
  try {
    const first = await channel.next().catch((error: unknown) => {
      throw new TargetConnectError(
        CONNECTION_FAILED.code,
        CONNECTION_FAILED.sqlState,
        `the target at ${where} closed the connection before greeting (${(error as Error).message})`,
        true,
      );
    });
    if (isErrPacket(first.payload)) {
      const err = parseErrPacket(first.payload);
      throw new TargetConnectError(
        err.code,
        err.sqlState,
        `the target refused the connection: ${err.message}`,
      );
    }
    const greeting = parseServerGreeting(first.payload);
    channel.sequence = (first.sequenceId + 1) & 0xff;
    return { socket, channel, greeting };
  } catch (error) {
    socket.destroy();
    throw asConnectError(error, where);
  }
}

/** Finishes the login on a greeted target: TLS, the handshake response, the auth plugin's exchange. */
export async function loginTarget(
  target: GreetedTarget,
  settings: MysqlTargetSettings,
  login: TargetLogin = {},
): Promise<TargetConnection> {
  const where = `${settings.host}:${settings.port}`;
  const { socket, channel, greeting } = target;
  try {
    let capabilities = commonCapabilities(
      commonCapabilities(greeting.capabilities, PROXY_CAPABILITIES),
      login.clientCapabilities ?? PROXY_CAPABILITIES,
    );
    capabilities = (capabilities | Capability.PROTOCOL_41 | Capability.SECURE_CONNECTION) >>> 0;
    const database = settings.database || login.database || '';
    capabilities = database
      ? (capabilities | Capability.CONNECT_WITH_DB) >>> 0
      : (capabilities & ~Capability.CONNECT_WITH_DB) >>> 0;
    // MariaDB's extended capabilities ride in the handshake only without CLIENT_MYSQL (which a
    // MariaDB server leaves out of its greeting, so `capabilities` does too).
    const mariadbCapabilities = hasCapability(capabilities, Capability.LONG_PASSWORD)
      ? 0
      : (greeting.mariadbCapabilities &
          PROXY_MARIADB_CAPABILITIES &
          (login.clientMariadbCapabilities ?? 0)) >>>
        0;
    const prefix = {
      capabilities,
      maxPacketSize: 0x40000000,
      characterSet: login.characterSet ?? UTF8MB4,
      mariadbCapabilities,
    };
    let tls = false;
    if (settings.tls.mode !== 'disable') {
      if (!hasCapability(greeting.capabilities, Capability.SSL)) {
        if (settings.tls.mode !== 'prefer') {
          throw new TargetConnectError(
            CONNECTION_FAILED.code,
            CONNECTION_FAILED.sqlState,
            `the target at ${where} does not accept TLS (tls.mode is ${settings.tls.mode})`,
          );
        }
      } else {
        channel.write(
          serializeSslRequest({ ...prefix, capabilities: (capabilities | Capability.SSL) >>> 0 }),
        );
        channel.detach();
        channel.upgrade(await startTls(socket, settings, where));
        tls = true;
      }
    }
    const password = settings.password ?? '';
    const plugin = greeting.authPlugin;
    channel.write(
      serializeHandshakeResponse({
        ...prefix,
        capabilities: tls ? (capabilities | Capability.SSL) >>> 0 : capabilities,
        username: settings.username,
        authResponse: pluginResponse(plugin, password, greeting.authData, tls),
        database,
        authPlugin: plugin,
        attributes: new Map([
          ['_client_name', 'tollgate-agent'],
          ['program_name', login.attributes?.get('program_name') ?? 'tollgate'],
        ]),
      }),
    );
    await authenticate(channel, settings, { plugin, nonce: greeting.authData, password, tls, where });
    return {
      channel,
      greeting,
      capabilities,
      mariadbCapabilities,
      connectionId: greeting.connectionId,
      tls,
    };
  } catch (error) {
    channel.destroy();
    socket.destroy();
    throw asConnectError(error, where);
  }
}

function asConnectError(error: unknown, where: string): TargetConnectError {
  if (error instanceof TargetConnectError) return error;
  if (error instanceof MysqlProtocolError) {
    return new TargetConnectError(
      CONNECTION_FAILED.code,
      CONNECTION_FAILED.sqlState,
      `the target at ${where} does not speak the MySQL protocol: ${error.message}`,
    );
  }
  return new TargetConnectError(
    CONNECTION_FAILED.code,
    CONNECTION_FAILED.sqlState,
    `lost the target at ${where} during authentication: ${(error as Error).message}`,
  );
}

function pluginResponse(plugin: string, password: string, nonce: Buffer, tls: boolean): Buffer {
  switch (plugin) {
    case 'mysql_native_password':
      return nativePasswordResponse(password, nonce);
    case 'caching_sha2_password':
      return cachingSha2Response(password, nonce);
    case 'client_ed25519':
      return ed25519PasswordResponse(password, nonce);
    case 'sha256_password':
      // Over TLS the password itself; otherwise ask for the server's key (0x01) and encrypt.
      return tls ? Buffer.from(`${password}\0`, 'utf8') : Buffer.from([0x01]);
    case 'mysql_clear_password':
      if (!tls) {
        throw new TargetConnectError(
          ACCESS_DENIED.code,
          ACCESS_DENIED.sqlState,
          'the target asks for the password in clear text; the agent sends it only over TLS',
        );
      }
      return Buffer.from(`${password}\0`, 'utf8');
    default:
      throw new TargetConnectError(
        ACCESS_DENIED.code,
        ACCESS_DENIED.sqlState,
        `the target asks for authentication plugin ${plugin}, which the agent does not support`,
      );
  }
}

async function authenticate(
  channel: PacketChannel,
  settings: MysqlTargetSettings,
  state: { plugin: string; nonce: Buffer; password: string; tls: boolean; where: string },
): Promise<void> {
  for (let round = 0; round < 8; round++) {
    const packet = await channel.next();
    channel.sequence = (packet.sequenceId + 1) & 0xff;
    const payload = packet.payload;
    if (isOkPacket(payload)) return;
    if (isErrPacket(payload)) {
      const err = parseErrPacket(payload);
      throw new TargetConnectError(err.code, err.sqlState, `the target refused the login: ${err.message}`);
    }
    if (payload[0] === 0xfe) {
      const request = parseAuthSwitch(payload);
      state.plugin = request.plugin;
      state.nonce = request.data;
      channel.write(pluginResponse(request.plugin, state.password, request.data, state.tls));
      continue;
    }
    if (payload[0] === 0x01) {
      const data = payload.subarray(1);
      if (state.plugin === 'caching_sha2_password' && data.length === 1 && data[0] === 3) continue; // fast auth ok
      if (state.plugin === 'caching_sha2_password' && data.length === 1 && data[0] === 4) {
        // Full authentication: the password over TLS, or encrypted with the server's RSA key.
        if (state.tls) channel.write(Buffer.from(`${state.password}\0`, 'utf8'));
        else if (settings.serverPublicKey) channel.write(rsaEncrypt(settings.serverPublicKey, state));
        else channel.write(Buffer.from([0x02]));
        continue;
      }
      if (data.toString('latin1').startsWith('-----BEGIN')) {
        channel.write(rsaEncrypt(data.toString('latin1'), state));
        continue;
      }
    }
    throw new TargetConnectError(
      CONNECTION_FAILED.code,
      CONNECTION_FAILED.sqlState,
      `the target at ${state.where} sent an unexpected packet during authentication`,
    );
  }
  throw new TargetConnectError(
    CONNECTION_FAILED.code,
    CONNECTION_FAILED.sqlState,
    `the target at ${state.where} did not finish authentication`,
  );
}

function rsaEncrypt(pem: string, state: { password: string; nonce: Buffer }): Buffer {
  try {
    return publicEncrypt(
      { key: pem, padding: cryptoConstants.RSA_PKCS1_OAEP_PADDING },
      rsaPasswordPlaintext(state.password, state.nonce),
    );
  } catch (error) {
    throw new TargetConnectError(
      ACCESS_DENIED.code,
      ACCESS_DENIED.sqlState,
      `cannot encrypt the password with the server's RSA key: ${(error as Error).message}`,
    );
  }
}

async function openSocket(settings: MysqlTargetSettings): Promise<Socket> {
  const where = `${settings.host}:${settings.port}`;
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: settings.host, port: settings.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new TargetConnectError(
          CONNECTION_FAILED.code,
          CONNECTION_FAILED.sqlState,
          `cannot reach the target at ${where}: no answer within ${settings.connectTimeoutMs ?? 10_000} ms`,
          true,
        ),
      );
    }, settings.connectTimeoutMs ?? 10_000);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: Error) => {
      clearTimeout(timer);
      reject(
        new TargetConnectError(
          CONNECTION_FAILED.code,
          CONNECTION_FAILED.sqlState,
          `cannot reach the target at ${where}: ${error.message}`,
          true,
        ),
      );
    });
  });
}

async function startTls(socket: Socket, settings: MysqlTargetSettings, where: string): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const verify = settings.tls.mode === 'verify-ca' || settings.tls.mode === 'verify-full';
    const tls = tlsConnect({
      socket,
      servername: /^[\d.]+$|:/.test(settings.host) ? undefined : settings.host,
      ca: settings.tls.ca,
      rejectUnauthorized: verify,
      ...(settings.tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
    });
    tls.once('secureConnect', () => {
      tls.removeAllListeners('error');
      resolve(tls);
    });
    tls.once('error', (error: Error) => {
      tls.destroy();
      reject(
        new TargetConnectError(
          CONNECTION_FAILED.code,
          CONNECTION_FAILED.sqlState,
          `TLS to the target at ${where} failed: ${error.message}`,
        ),
      );
    });
  });
}
