import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { RefusalKind, SessionWatch } from '@tollgate/protocol-tcp';
import type { NewSession } from '../tunnel/session-records';

/** The protocol a listener speaks, as connections name it. */
export type ListenerProtocol = NewSession['protocol'];

/** What a client's start-up told a listener: who it claims to be, with what, and where it goes. */
export interface ListenerLogin {
  /** The client's socket from here on (the TLS socket when the protocol negotiated TLS). */
  readonly socket: Socket;
  /** What the client authenticated with (see ListenerCredential). */
  readonly credential: ListenerCredential;
  /**
   * The user name the client gave; it must name the credential's owner. Undefined where the
   * protocol's login names only the connection (SSH's `connection` form): the credential alone
   * says who it is.
   */
  readonly userName: string | undefined;
  /** The connection the client asked for (PostgreSQL and MySQL: the database name; SSH: from the user name). */
  readonly connectionName: string;
  /**
   * Bytes the agent's protocol engine reads first, as if the client had connected through
   * `tollgate connect` (PostgreSQL: the StartupMessage; MySQL: the handshake response, without the
   * password).
   */
  readonly preamble: Buffer;
  /**
   * MySQL: the connection id the listener greeted the client with (its KILL QUERY names it); the
   * agent's engine keeps it as the session's.
   */
  readonly greetedConnectionId?: number;
}

/**
 * A client that connected only to cancel what a session of its own runs (PostgreSQL's
 * CancelRequest): the key it was given when that session began. Its socket is already closed, as
 * the protocol wants, whatever the key matches.
 */
export interface ListenerCancel {
  readonly cancelKey: string;
}

/**
 * A client the listener refused before it presented a credential (plain text where TLS is
 * required, a malformed start-up, too slow), already told why in its protocol and closed.
 */
export interface ListenerRefused {
  readonly refused: string;
}

/**
 * A Tollgate credential the client gave where its protocol expects a password (an access token, an
 * API key), or (SSH) a public key registered to a user, whose signature the listener checked.
 */
export type ListenerCredential =
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'ssh-key'; readonly fingerprint: string };

/**
 * Why a session does not open: the protocol-neutral kinds every refuser maps (`RefusalKind`), and
 * three only a listener meets, because only it reads the credential: a credential that is unknown,
 * malformed, expired or revoked, a user name that does not name the credential's owner, and a
 * source address whose logins failed too often of late (refused before its credential is read).
 */
export type ListenerRefusalKind = RefusalKind | 'bad-credential' | 'wrong-user' | 'too-many-failures';

export interface ListenerRefusal {
  readonly kind: ListenerRefusalKind;
  /** Shown to the person at the client; never secrets. */
  readonly message: string;
}

/**
 * One protocol's side of a gateway listener (PostgreSQL, MySQL; SSH joins the same way):
 * parse the client's start-up (negotiating TLS where the protocol does it in band), take the
 * credential and the target from it, and refuse in the protocol's own error format. Everything
 * after that (authentication, the user check, the access decision, the session, the relay and the
 * audit) is the shared pipeline's (ListenerSessions), the same one `tollgate connect` reaches
 * through the ClientTunnel service.
 */
export interface GatewayListener {
  readonly protocol: ListenerProtocol;
  /**
   * Reads the start-up up to the credential, or a cancel request (see ListenerCancel). Resolves
   * a ListenerRefused when the client was already answered (a protocol error, TLS required but not
   * negotiated), undefined when it went away.
   */
  login(socket: Socket): Promise<ListenerLogin | ListenerCancel | ListenerRefused | undefined>;
  /** Tells the client why its session does not open, in its protocol's error format, and closes. */
  refuse(login: ListenerLogin, refusal: ListenerRefusal): void;
  /**
   * Where the server speaks first (MySQL), the listener greeted the client itself before it knew
   * the connection, and the engine greets again: given the engine's first bytes, the length of its
   * greeting once they hold all of it (undefined: not yet). Those bytes never reach the client.
   */
  engineGreetingLength?(bytes: Buffer): number | undefined;
  /**
   * MySQL: serves a login that names no connection, its credential already verified (the mariadb
   * CLI's Ctrl+C logs in so to send `KILL QUERY <id>`), with no session behind it. `kill` stops
   * what the session the client greeted with `id` runs (or ends it, for KILL CONNECTION); false
   * when no session of this login's owner on this replica has that id.
   */
  serveWithoutConnection?(
    login: ListenerLogin,
    kill: (id: number, what: 'query' | 'connection') => boolean,
  ): Promise<void>;
  /**
   * Follows an open session's bytes (from the preamble on) so that an ending the gateway decides
   * (a kill, a revoked token, shutdown) is said in protocol: the protocol's ProtocolRefuser watch.
   * Where the protocol cancels out of band (PostgreSQL), `onCancelKey` hears the key the session's
   * client was given, as a later ListenerCancel carries it.
   */
  watch(onCancelKey?: (key: string) => void): SessionWatch;
  /**
   * For a listener that ends the client's protocol at the gateway (SSH: the client's SSH connection
   * is authenticated here, and its channels are relayed to the agent's engine with the SSH channel
   * multiplexer, as `tollgate connect` does): serves the open session over `stream` until the client is
   * gone. Without it, the client's socket is relayed byte for byte after the preamble.
   */
  relay?(login: ListenerLogin, stream: Duplex): Promise<void>;
}
