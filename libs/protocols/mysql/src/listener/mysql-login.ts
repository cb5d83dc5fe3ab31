import { randomBytes } from 'node:crypto';
import { drawConnectionId } from '../proxy/connection-ids';
import type { Socket } from 'node:net';
import type { ListenerLogin, ListenerLoginOptions, ListenerLoginOutcome } from '@tollgate/protocol-tcp';
import { TLSSocket } from 'node:tls';
import { Capability, MariadbCapability, PROXY_CAPABILITIES } from '../capabilities';
import { parseHandshakeResponse, serializeHandshakeResponse, serializeServerGreeting } from '../handshake';
import { framePacket } from '../packet-reader';
import { MysqlProtocolError } from '../protocol-error';
import { authSwitchPacket, errPacket } from '../response-packets';

/**
 * A MySQL listener login: `user` and `database` from the handshake response, the password sent
 * with mysql_clear_password.
 */
export interface MysqlLogin extends ListenerLogin {
  /**
   * The client's handshake response without TLS, database or password, numbered so that the
   * engine's answer (OK, or the target's ERR) carries the sequence id the client waits for.
   */
  readonly preamble: Buffer;
  /** The sequence id of the next packet the client expects (its login's OK or ERR). */
  readonly nextSequence: number;
  /** The connection id the client was greeted with (random, never the server's thread id). */
  readonly connectionId: number;
}

export type MysqlLoginOutcome = ListenerLoginOutcome<MysqlLogin>;
export type MysqlLoginOptions = ListenerLoginOptions;

/** The error numbers and SQLSTATEs a listener's refusals use (the server's own for the same situations). */
export const LOGIN_ERRORS = {
  /** ER_ACCESS_DENIED_ERROR: a wrong password, a user name that does not fit. */
  accessDenied: [1045, '28000'],
  /** ER_BAD_DB_ERROR: no such database (here: connection). */
  unknownDatabase: [1049, '42000'],
  /** ER_NO_DB_ERROR. */
  noDatabase: [1046, '3D000'],
  /** ER_HANDSHAKE_ERROR: bytes that are not a handshake. */
  badHandshake: [1043, '08S01'],
  /** ER_SECURE_TRANSPORT_REQUIRED (MySQL 5.7+). */
  tlsRequired: [3159, 'HY000'],
  /** ER_NOT_SUPPORTED_AUTH_MODE: the client would not send the password in clear. */
  authMode: [1251, '08004'],
  /** CR_CONN_HOST_ERROR, as a client says it: the target cannot be reached. */
  unavailable: [2003, 'HY000'],
} as const satisfies Record<string, readonly [number, string]>;

/** The version the listener greets with, before it knows which server the connection leads to. */
export const LISTENER_SERVER_VERSION = '5.5.5-10.11-tollgate-MariaDB';

const CLEAR_PASSWORD = 'mysql_clear_password';
/** The largest handshake packet read (a handshake response with many connection attributes is ~1 KiB). */
const MAX_LOGIN_PACKET = 1 << 16;

/**
 * The start of a MySQL session on a gateway listener, where the client presents a Tollgate
 * credential as its password. The listener greets first (it cannot know the target yet, so it
 * greets as a generic server offering mysql_native_password and, with a certificate, TLS), upgrades
 * to TLS on an SSLRequest, reads the handshake response and, unless the client already answered
 * with mysql_clear_password, switches it to mysql_clear_password (the credential is a token the
 * gateway verifies, so it must arrive as it is; TLS or loopback keeps it private, and a client
 * without either is refused before it is asked). Protocol errors and a silent client are answered
 * with an ERR packet and closed here. A login without a database (the mariadb CLI's Ctrl+C connects
 * so, to send KILL QUERY) is read to its password like any other: `database` is then empty.
 */
export function acceptMysqlLogin(socket: Socket, options: MysqlLoginOptions): Promise<MysqlLoginOutcome> {
  // The session's own connection id (the one the client's KILL QUERY will name): the agent's engine
  // keeps it for the session, so it must be drawn before the target is known.
  const connectionId = drawConnectionId();
  return new Promise<MysqlLoginOutcome>((resolve) => {
    let current: Socket = socket;
    let tls = false;
    /** Bytes read and not yet a whole packet (packets are small here: no continuation packets). */
    let buffered: Buffer = Buffer.alloc(0);
    let response: ReturnType<typeof parseHandshakeResponse> | undefined;
    let sequence = 0;
    let settled = false;

    const finish = (outcome: MysqlLoginOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      current.off('data', onData);
      current.off('close', onClose);
      current.off('error', onError);
      resolve(outcome);
    };
    const refuse = ([code, sqlState]: readonly [number, string], message: string) => {
      refuseMysqlLogin(current, sequence, code, sqlState, message);
      finish({ kind: 'closed', reason: message, refused: true });
    };
    const send = (payload: Buffer) => {
      const { bytes, next } = framePacket(payload, sequence);
      sequence = next;
      current.write(bytes);
    };
    const onClose = () => finish({ kind: 'closed', reason: 'the client closed the connection' });
    const onError = (error: Error) => finish({ kind: 'closed', reason: error.message });
    const timer = setTimeout(
      () => refuse(LOGIN_ERRORS.badHandshake, 'tollgate: the handshake took too long'),
      options.timeoutMs,
    );

    const upgrade = () => {
      const pending = buffered;
      buffered = Buffer.alloc(0);
      current.off('data', onData);
      current.off('close', onClose);
      current.off('error', onError);
      current.pause();
      if (pending.length > 0) current.unshift(pending);
      const secure = new TLSSocket(current, { isServer: true, secureContext: options.tls! });
      current = secure;
      tls = true;
      secure.on('data', onData);
      secure.on('close', onClose);
      secure.on('error', onError);
    };

    const login = (password: string) => {
      const client = response!;
      // The engine sees the client's own handshake, minus what only the listener may know: TLS,
      // the password (never sent to the agent) and the database (the connection's name, not a
      // schema on the target). Its answer then follows the client's own sequence.
      const handshake = framePacket(
        serializeHandshakeResponse({
          capabilities: (client.capabilities & ~Capability.SSL) >>> 0,
          maxPacketSize: client.maxPacketSize,
          characterSet: client.characterSet,
          mariadbCapabilities: client.mariadbCapabilities,
          username: client.username,
          authResponse: Buffer.alloc(0),
          authPlugin: 'mysql_native_password',
          attributes: client.attributes,
        }),
        (sequence - 1) & 0xff,
      ).bytes;
      finish({
        kind: 'login',
        socket: current,
        tls,
        user: client.username,
        database: client.database ?? '',
        password,
        // Anything the client pipelined after its password follows, as it was sent.
        preamble: Buffer.concat([handshake, buffered]),
        nextSequence: sequence,
        connectionId,
      });
    };

    const onPacket = (sequenceId: number, payload: Buffer) => {
      sequence = (sequenceId + 1) & 0xff;
      if (response) {
        // The answer to the switch to mysql_clear_password: the password, NUL-terminated.
        return login(withoutNul(payload).toString('utf8'));
      }
      const parsed = parseHandshakeResponse(payload);
      if (parsed.sslRequest) {
        if (!options.tls || tls) {
          return refuse(LOGIN_ERRORS.badHandshake, 'tollgate: TLS was not offered');
        }
        return upgrade();
      }
      if (options.requireTls && !tls) {
        return refuse(
          LOGIN_ERRORS.tlsRequired,
          'tollgate: this listener accepts TLS connections only (mariadb --ssl, mysql2 ssl: {...})',
        );
      }
      if (!parsed.username)
        return refuse(LOGIN_ERRORS.accessDenied, 'tollgate: no user name in the handshake');
      response = parsed;
      if (parsed.authPlugin === CLEAR_PASSWORD && parsed.authResponse.length > 0) {
        return login(withoutNul(parsed.authResponse).toString('utf8'));
      }
      // Whatever the client computed for mysql_native_password cannot be checked against a token:
      // ask for the credential itself.
      send(authSwitchPacket(CLEAR_PASSWORD, Buffer.alloc(0)));
    };

    function onData(chunk: Buffer): void {
      if (settled) return;
      buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
      try {
        // One packet at a time: after an SSLRequest the bytes that follow are TLS, not packets.
        while (!settled && buffered.length >= 4) {
          const length = buffered.readUIntLE(0, 3);
          if (length > MAX_LOGIN_PACKET) {
            throw new MysqlProtocolError('too-large', `a handshake packet of ${length} bytes`);
          }
          if (buffered.length < 4 + length) return;
          const sequenceId = buffered[3] as number;
          const payload = buffered.subarray(4, 4 + length);
          buffered = buffered.subarray(4 + length);
          const before = current;
          onPacket(sequenceId, payload);
          if (current !== before) return;
        }
      } catch (error) {
        const detail = error instanceof MysqlProtocolError ? error.message : 'malformed handshake';
        refuse(LOGIN_ERRORS.badHandshake, `tollgate: invalid handshake: ${detail}`);
      }
    }

    current.on('data', onData);
    current.on('close', onClose);
    current.on('error', onError);
    const nonce = Buffer.from(randomBytes(20).map((b) => (b % 94) + 33));
    send(
      serializeServerGreeting({
        serverVersion: LISTENER_SERVER_VERSION,
        connectionId,
        authData: nonce,
        // MariaDB's handshake (no CLIENT_MYSQL), so that a client can ask for progress reports: the
        // engine tells a held command's message in one. Nothing else is offered here (the target's
        // own extended capabilities are the engine's to negotiate).
        capabilities:
          ((PROXY_CAPABILITIES & ~Capability.LONG_PASSWORD) | (options.tls ? Capability.SSL : 0)) >>> 0,
        mariadbCapabilities: MariadbCapability.PROGRESS,
        characterSet: 45,
        statusFlags: 2,
        authPlugin: 'mysql_native_password',
      }),
    );
    current.resume();
  });
}

function withoutNul(bytes: Buffer): Buffer {
  return bytes.length > 0 && bytes[bytes.length - 1] === 0 ? bytes.subarray(0, -1) : bytes;
}

/** The length of the server greeting at the start of `bytes`, once they hold all of it. */
export function greetingLength(bytes: Buffer): number | undefined {
  if (bytes.length < 4) return undefined;
  const length = 4 + bytes.readUIntLE(0, 3);
  return bytes.length >= length ? length : undefined;
}

/** Tells the client why it cannot log in, as an ERR packet its client shows, then closes. */
export function refuseMysqlLogin(
  socket: Socket,
  sequence: number,
  code: number,
  sqlState: string,
  message: string,
): void {
  if (socket.destroyed || socket.writableEnded) return;
  socket.end(framePacket(errPacket(code, sqlState, message), sequence).bytes);
  // A client that never reads its refusal must not hold the socket open.
  setTimeout(() => socket.destroy(), 5_000).unref();
}
