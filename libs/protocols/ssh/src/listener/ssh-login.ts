import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  Server,
  utils,
  type AuthContext,
  type AuthenticationType,
  type Connection,
  type ParsedKey,
} from 'ssh2';
import { bridgeConnection } from '../bridge/session-bridge';
import { connectEngine, governedByEngine } from '../front/ssh-front';
import { SERVER_ALGORITHMS } from '../front/server-algorithms';
import { coalesceWrites } from '../front/coalesce-writes';
import { publicKeyFingerprint, verifyPublicKeySignature } from '../keys/user-public-key';
import { sendAuthBanner } from './ssh-auth-banner';
import { installSsh2CipherKeys } from '../transport/ssh2-cipher-keys';
import { releaseHandshakeState } from '../transport/ssh2-handshake-state';

/** What keyboard-interactive asks for: a Tollgate credential, where ssh expects a password. */
const TOKEN_PROMPT = 'Password (a Tollgate token, API key or connection credential): ';

export interface SshLoginOptions {
  /** The listener's host key (an OpenSSH private key; check it once with parseHostKey). */
  readonly hostKey: string;
  /** How long a client may take from connecting to offering a credential. */
  readonly timeoutMs: number;
  /** How long the agent's side of the session may take to answer SSH (default 30 s). */
  readonly readyTimeoutMs?: number;
  /**
   * Whether a public key (by its `SHA256:` fingerprint) is registered to someone. Without it, public
   * keys are not accepted. A key it does not know is refused as OpenSSH refuses a key that is not in
   * authorized_keys (the client goes on to its next key or to a password); a known one is asked to
   * sign, and its signature is checked here before the login is held.
   */
  readonly knowsPublicKey?: (fingerprint: string) => Promise<boolean>;
}

/** What the client authenticated with: a Tollgate credential as password, or a registered key. */
export type SshCredential =
  | { readonly kind: 'password'; readonly password: string }
  /** The client proved it holds the private half of this public key (its signature checked out). */
  | { readonly kind: 'publickey'; readonly fingerprint: string; readonly algorithm: string };

/** A client that offered a credential; its authentication is held until `accept` or `refuse`. */
export interface SshLogin {
  readonly kind: 'login';
  /** The user part of `user%connection`; undefined when the client named only the connection. */
  readonly userName: string | undefined;
  readonly connectionName: string;
  /** Its password (or keyboard-interactive answer), or the public key whose signature checked out. */
  readonly credential: SshCredential;
  /**
   * Authentication succeeds and the client's channels are served through `stream`, the session's
   * byte stream to the agent's SSH engine. Resolves when the client's connection has closed.
   */
  accept(stream: Duplex): Promise<void>;
  /** Authentication fails with `message` shown to the client (a banner), and the connection ends. */
  refuse(message: string): void;
}

export type SshLoginOutcome = SshLogin | { readonly kind: 'closed' };

/** The user name's form: `connection`, or `user%connection` (the user must own the credential). */
export function parseSshUserName(name: string): { userName: string | undefined; connectionName: string } {
  const at = name.lastIndexOf('%');
  return at < 0
    ? { userName: undefined, connectionName: name }
    : { userName: name.slice(0, at), connectionName: name.slice(at + 1) };
}

export function parseHostKey(pem: string): ParsedKey {
  const parsed = utils.parseKey(pem);
  if (parsed instanceof Error) throw parsed;
  return Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed;
}

/**
 * The gateway's SSH listener, for one accepted socket: speaks SSH as a server with the listener's
 * host key up to the client's first password (or keyboard-interactive answer) or signed public key
 * that `knowsPublicKey` knows, and holds that authentication while the gateway decides. Other
 * attempts (host-based, unknown keys, bad signatures) are answered with the methods that can
 * succeed. A client that has not offered a credential within `timeoutMs`
 * (a stalled or garbage handshake) is cut off.
 */
export function acceptSshLogin(socket: Socket, options: SshLoginOptions): Promise<SshLoginOutcome> {
  installSsh2CipherKeys();
  return new Promise<SshLoginOutcome>((resolve) => {
    let settled = false;
    const closed = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ kind: 'closed' });
    };
    const timer = setTimeout(closed, options.timeoutMs);
    const { server, handlers } = sharedServer(options.hostKey);
    handlers.set(socket, (connection: Connection) => {
      connection.on('error', () => undefined);
      connection.on('close', closed);
      connection.on('handshake', () => releaseHandshakeState(connection));
      const methods = loginMethods(options);
      connection.on('authentication', (context: AuthContext) => {
        if (settled) return context.reject();
        const offered = (credential: SshCredential) => {
          if (settled) return context.reject();
          settled = true;
          clearTimeout(timer);
          connection.off('close', closed);
          resolve(held(connection, context, credential, options));
        };
        if (context.method === 'password') return offered({ kind: 'password', password: context.password });
        if (context.method === 'keyboard-interactive') {
          // "Password" in the prompt: OpenSSH tries keyboard-interactive before password, and
          // sshpass (and people) answer a prompt that says password.
          return context.prompt([{ prompt: TOKEN_PROMPT, echo: false }], (answers) =>
            offered({ kind: 'password', password: answers[0] ?? '' }),
          );
        }
        if (context.method === 'publickey' && options.knowsPublicKey) {
          const { key, signature, blob, hashAlgo } = context;
          const fingerprint = publicKeyFingerprint(key.data);
          options.knowsPublicKey(fingerprint).then(
            (known) => {
              if (settled || !known) return context.reject(methods);
              // A query without a signature: yes, this key would do (USERAUTH_PK_OK); the client signs next.
              if (!signature || !blob) return context.accept();
              if (!verifyPublicKeySignature(key.data, blob, signature, hashAlgo))
                return context.reject(methods);
              offered({ kind: 'publickey', fingerprint, algorithm: key.algo });
            },
            () => context.reject(methods),
          );
          return;
        }
        context.reject(methods);
      });
    });
    socket.on('error', closed);
    coalesceWrites(socket);
    server.injectSocket(socket);
  });
}

/** The sockets' SSH servers, one per host key (see sharedServer). */
const servers = new Map<
  string,
  { server: Server; handlers: WeakMap<object, (connection: Connection) => void> }
>();

/**
 * One ssh2 Server per host key for every socket the listener accepts: the host key is parsed and
 * the KEXINIT offer built once, not per connection (a Server per socket kept both, with their
 * small Buffers pinning Buffer-pool slabs, for as long as the session lasted). Each socket's
 * handler is taken when ssh2 announces the connection, after the client's identification line.
 */
function sharedServer(hostKey: string) {
  let shared = servers.get(hostKey);
  if (!shared) {
    const handlers = new WeakMap<object, (connection: Connection) => void>();
    const server = new Server({ hostKeys: [hostKey], ident: 'Tollgate', algorithms: SERVER_ALGORITHMS });
    server.on('connection', (connection: Connection) => {
      // ssh2 1.17 keeps the injected socket as `_sock` (see sshSocket in coalesce-writes).
      const socket = (connection as unknown as { _sock?: object })._sock;
      const handler = socket ? handlers.get(socket) : undefined;
      if (!handler) return connection.end();
      handlers.delete(socket!);
      handler(connection);
    });
    shared = { server, handlers };
    servers.set(hostKey, shared);
  }
  return shared;
}

function loginMethods(options: SshLoginOptions): AuthenticationType[] {
  return options.knowsPublicKey
    ? ['publickey', 'password', 'keyboard-interactive']
    : ['password', 'keyboard-interactive'];
}

function held(
  connection: Connection,
  context: AuthContext,
  credential: SshCredential,
  options: SshLoginOptions,
): SshLogin {
  const { userName, connectionName } = parseSshUserName(context.username);
  // The held authentication, until it is answered: the session then keeps neither it nor the
  // password it carried.
  let pending: AuthContext | undefined = context;
  const refuse = (message: string) => {
    if (pending) {
      sendAuthBanner(pending, `tollgate: ${message}`);
      pending.reject(loginMethods(options));
      pending = undefined;
    }
    setImmediate(() => connection.end());
  };
  return {
    kind: 'login',
    userName,
    connectionName,
    credential,
    refuse,
    accept: (stream) =>
      new Promise<void>((resolve) => {
        connection.once('close', () => resolve());
        connectEngine(stream, options.readyTimeoutMs ?? 30_000).then(
          (target) => {
            connection.once('ready', () => bridgeConnection(connection, target, governedByEngine(target)));
            connection.once('close', () => target.end());
            target.once('close', () => connection.end());
            pending?.accept();
            pending = undefined;
          },
          (error: unknown) => refuse(error instanceof Error ? error.message : String(error)),
        );
      }),
  };
}
