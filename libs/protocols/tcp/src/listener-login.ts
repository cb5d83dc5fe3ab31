import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';

/**
 * What a client's login on a gateway listener (PostgreSQL, MySQL) gave, up to and including the
 * password that holds its Tollgate credential; each protocol's login reader adds its own fields.
 */
export interface ListenerLogin {
  /** The client's socket from here on: the TLS socket when the client negotiated TLS. */
  readonly socket: Socket;
  readonly tls: boolean;
  /** The user name the client logged in with (it must name the credential's owner). */
  readonly user: string;
  /** The database the client asked for: the Tollgate connection. */
  readonly database: string;
  /** The password the client sent in clear (over TLS, or from loopback): the credential. */
  readonly password: string;
  /** What the protocol's session engine reads first, as if the client had connected to it directly. */
  readonly preamble: Buffer;
}

/**
 * A login read to its password, or a client that went away or was answered and closed (`refused`:
 * the listener told it why, a refusal the gateway records).
 */
export type ListenerLoginOutcome<L extends ListenerLogin> =
  | ({ readonly kind: 'login' } & L)
  | { readonly kind: 'closed'; readonly reason: string; readonly refused?: true };

export interface ListenerLoginOptions {
  /** The listener's certificate and key; without them TLS is not offered. */
  readonly tls?: SecureContext;
  /** Refuse a client that does not negotiate TLS (every non-loopback listener). */
  readonly requireTls: boolean;
  /** Time the client has to get through its handshake and send its password. */
  readonly timeoutMs: number;
}
