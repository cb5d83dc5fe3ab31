import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * Resets a TCP socket (RST, as the peer's reset). A TLS socket's handle cannot be reset (Node
 * throws ERR_INVALID_HANDLE_TYPE, which would take the process down), so it is destroyed instead.
 */
export function resetSocket(socket: Socket): void {
  if (socket instanceof TLSSocket) socket.destroy();
  else socket.resetAndDestroy();
}
