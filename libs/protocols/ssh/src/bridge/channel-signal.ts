import type { ClientChannel } from 'ssh2';
import { MuxChannel } from '../mux/mux-channel';

/** The parts of ssh2 1.17's Channel this file reaches into (not public API; pinned by package.json). */
interface ChannelInternals {
  readonly outgoing: { readonly id: number; readonly state: string };
  readonly _client: { readonly _protocol: { signal(id: number, name: string): void } };
}

/**
 * Sends a signal request on a target channel. ssh2's own `signal()` does nothing once the channel's
 * writing side has ended, but SSH allows requests after EOF, and a command whose input ended (every
 * `ssh host cmd < /dev/null`) must still be ended when its session is killed. The e2e kill test
 * fails if a newer ssh2 changes these internals.
 */
export function signalChannel(channel: ClientChannel, name: string): void {
  // A multiplexer's channel sends signals after EOF itself.
  if ((channel as unknown) instanceof MuxChannel) {
    (channel as unknown as MuxChannel).signal(name);
    return;
  }
  const internals = channel as unknown as ChannelInternals;
  if (internals.outgoing.state !== 'open' && internals.outgoing.state !== 'eof') return;
  internals._client._protocol.signal(internals.outgoing.id, name);
}
