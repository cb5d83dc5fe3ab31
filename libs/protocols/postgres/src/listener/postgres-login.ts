import type { Socket } from 'node:net';
import type { ListenerLogin, ListenerLoginOptions, ListenerLoginOutcome } from '@tollgate/protocol-tcp';
import { TLSSocket } from 'node:tls';
import { fatalErrorResponse, serializeBackendMessage } from '../backend-message.serializer';
import { FrontendMessageParser } from '../frontend-message.parser';
import type { FrontendMessage, StartupPacket } from '../frontend-messages';
import { parsePasswordMessage } from '../authentication-response';
import { PostgresProtocolError } from '../protocol-error';

/** What a client's start-up on a gateway listener asked for, up to and including its password. */
/**
 * A PostgreSQL listener login: `user` and `database` are the start-up's parameters (the database
 * defaults to the user name), the password the PasswordMessage answering
 * AuthenticationCleartextPassword, and the preamble the StartupMessage as the client sent it, then
 * any bytes it pipelined after its password.
 */
export type PostgresLogin = ListenerLogin;
/**
 * A login read to its password, a client answered and closed, or a CancelRequest (already closed,
 * as PostgreSQL closes it: no answer, whether the key matches a session or not).
 */
export type PostgresLoginOutcome =
  | ListenerLoginOutcome<PostgresLogin>
  | { readonly kind: 'cancel'; readonly processId: number; readonly secretKey: number };
/** Without a certificate, an SSLRequest is answered N. */
export type PostgresLoginOptions = ListenerLoginOptions;

/** The SQLSTATEs a listener's refusals use (PostgreSQL's own for the same situations). */
export const LOGIN_SQLSTATE = {
  invalidPassword: '28P01',
  invalidAuthorization: '28000',
  unknownDatabase: '3D000',
  protocolViolation: '08P01',
  cannotConnect: '08001',
  connectionFailure: '08006',
  featureNotSupported: '0A000',
} as const;

/**
 * The start of a PostgreSQL session on a gateway listener, where the client presents a Tollgate
 * credential as its password: answers SSLRequest (upgrading to TLS when the listener has a
 * certificate) and GSSENCRequest (N), reads the StartupMessage, asks for a cleartext password
 * (safe: TLS, or loopback only) and reads it. Protocol errors, a missing TLS negotiation and a
 * silent client are answered in PostgreSQL's format and closed here. A CancelRequest (plain, or
 * after an SSLRequest) is closed at once without a word, and its key handed back.
 */
export function acceptPostgresLogin(
  socket: Socket,
  options: PostgresLoginOptions,
): Promise<PostgresLoginOutcome> {
  return new Promise<PostgresLoginOutcome>((resolve) => {
    let current: Socket = socket;
    let tls = false;
    let parser = new FrontendMessageParser();
    let startup: { user: string; database: string; frame: Buffer } | undefined;
    let settled = false;

    const finish = (outcome: PostgresLoginOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      current.off('data', onData);
      current.off('close', onClose);
      current.off('error', onError);
      resolve(outcome);
    };
    const refuse = (sqlState: string, message: string) => {
      refusePostgresLogin(current, sqlState, message);
      finish({ kind: 'closed', reason: message, refused: true });
    };
    const onClose = () => finish({ kind: 'closed', reason: 'the client closed the connection' });
    const onError = (error: Error) => finish({ kind: 'closed', reason: error.message });
    const timer = setTimeout(
      () => refuse(LOGIN_SQLSTATE.protocolViolation, 'tollgate: start-up took too long'),
      options.timeoutMs,
    );

    const upgrade = () => {
      const pipelined = parser.drain();
      current.off('data', onData);
      current.off('close', onClose);
      current.off('error', onError);
      current.pause();
      if (pipelined.length > 0) current.unshift(pipelined);
      const secure = new TLSSocket(current, { isServer: true, secureContext: options.tls! });
      current = secure;
      tls = true;
      parser = new FrontendMessageParser();
      secure.on('data', onData);
      secure.on('close', onClose);
      secure.on('error', onError);
    };

    const onMessage = (message: StartupPacket | FrontendMessage, frame: Buffer) => {
      if (settled) return;
      switch (message.name) {
        case 'sslRequest':
          if (tls || startup)
            return refuse(LOGIN_SQLSTATE.protocolViolation, 'tollgate: unexpected SSLRequest');
          if (!options.tls) {
            current.write('N');
            return readOnLater();
          }
          current.write('S');
          upgrade();
          return;
        case 'gssEncRequest':
          current.write('N');
          return readOnLater();
        case 'cancelRequest':
          // As the server does: closed before anything is looked up, so a key that matches no
          // session is answered exactly as one that does. Plain text is fine from anywhere (libpq
          // sends cancels unencrypted): the key is all it carries, and it only stops a statement.
          current.end();
          return finish({ kind: 'cancel', processId: message.processId, secretKey: message.secretKey });
        case 'startupMessage': {
          if (options.requireTls && !tls) {
            return refuse(
              LOGIN_SQLSTATE.invalidAuthorization,
              'tollgate: this listener accepts TLS connections only (sslmode=require)',
            );
          }
          const user = message.parameters['user'] ?? '';
          if (!user)
            return refuse(LOGIN_SQLSTATE.invalidAuthorization, 'tollgate: no user name in the start-up');
          const database = message.parameters['database'] || user;
          startup = { user, database, frame: Buffer.from(frame) };
          current.write(serializeBackendMessage({ name: 'authenticationCleartextPassword' }));
          return;
        }
        case 'authenticationResponse': {
          let password: string;
          try {
            password = parsePasswordMessage(message.data);
          } catch {
            return refuse(LOGIN_SQLSTATE.protocolViolation, 'tollgate: malformed password message');
          }
          const rest = parser.drain();
          finish({
            kind: 'login',
            socket: current,
            tls,
            user: startup!.user,
            database: startup!.database,
            password,
            preamble: Buffer.concat([startup!.frame, rest]),
          });
          return;
        }
        default:
          return refuse(
            LOGIN_SQLSTATE.protocolViolation,
            `tollgate: expected a password message, got ${message.name}`,
          );
      }
    };

    // The parser stops after an SSLRequest or GSSENCRequest; what the client sent after it is read next.
    const readOnLater = () => setImmediate(() => onData(Buffer.alloc(0)));

    function onData(chunk: Buffer): void {
      if (settled) return;
      try {
        parser.parse(chunk, onMessage);
      } catch (error) {
        const detail = error instanceof PostgresProtocolError ? error.message : 'malformed start-up';
        refuse(LOGIN_SQLSTATE.protocolViolation, `tollgate: invalid start-up: ${detail}`);
      }
    }

    current.on('data', onData);
    current.on('close', onClose);
    current.on('error', onError);
    current.resume();
  });
}

/** Tells the client why it cannot log in, as a FATAL ErrorResponse its client shows, then closes. */
export function refusePostgresLogin(socket: Socket, sqlState: string, message: string): void {
  if (socket.destroyed || socket.writableEnded) return;
  socket.end(fatalErrorResponse(sqlState, message));
  // A client that never reads its refusal must not hold the socket open.
  setTimeout(() => socket.destroy(), 5_000).unref();
}
