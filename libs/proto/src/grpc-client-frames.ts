// grpc-js opens its HTTP/2 connections with Node's default SETTINGS_MAX_FRAME_SIZE (16 KiB), so a
// gateway sends every tunnel message (up to ~120 KiB) to an agent or a CLI as several DATA frames,
// each a read, a Buffer and a piece for grpc-js to gather in the receiving process. The gateway
// already accepts large frames from its peers (grpc-server.ts); this lets its peers receive them.
import http2 from 'node:http2';

/** Largest HTTP/2 DATA frame a tunnel peer accepts: a whole tunnel message fits in one. */
export const TUNNEL_MAX_FRAME_BYTES = 256 * 1024;

let installed = false;

/**
 * Makes every HTTP/2 client connection this process opens (grpc-js calls http2.connect) announce
 * TUNNEL_MAX_FRAME_BYTES as its largest acceptable frame, unless the caller set one.
 */
export function acceptLargeHttp2Frames(): void {
  if (installed) return;
  installed = true;
  const connect = http2.connect;
  http2.connect = function (authority: unknown, options?: unknown, listener?: unknown) {
    if (typeof options === 'object' && options !== null) {
      const given = options as http2.ClientSessionOptions;
      options = {
        ...given,
        settings: { maxFrameSize: TUNNEL_MAX_FRAME_BYTES, ...given.settings },
      };
    }
    return (connect as (...args: unknown[]) => http2.ClientHttp2Session)(authority, options, listener);
  };
}
