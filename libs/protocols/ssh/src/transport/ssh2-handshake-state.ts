import type { Connection } from 'ssh2';

/** What ssh2 1.17 keeps of a finished key exchange (its internals; package.json pins the version). */
interface Ssh2KeyExchange {
  _finished?: boolean;
  _keys?: unknown;
  finish?: unknown;
}

/** The finished exchange's `finish`: ssh2's own answer once an exchange has finished. */
const finished = () => false;

/**
 * Drops what ssh2 keeps of a key exchange once it has completed (call it on the connection's
 * 'handshake' event, which follows every exchange, rekeys included): the ephemeral X25519 key pair
 * and the closure that derived the session keys, which holds the shared secret and the exchange
 * hash. ssh2 keeps the exchange object for the session ID and the negotiated algorithms (both
 * stay) and makes a new one for a rekey, so neither is used again; kept, they cost each session
 * about a kilobyte and a Buffer-pool slab the secret pins, for the session's lifetime. A
 * connection whose internals are not the expected ones is left as it is.
 */
export function releaseHandshakeState(connection: Connection): void {
  const kex = (connection as unknown as { _protocol?: { _kex?: Ssh2KeyExchange } })._protocol?._kex;
  if (!kex || kex._finished !== true) return;
  if ('_keys' in kex) kex._keys = null;
  if (typeof kex.finish === 'function' && Object.hasOwn(kex, 'finish')) kex.finish = finished;
}
