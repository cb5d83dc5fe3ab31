import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';

/**
 * Resets a TCP socket (RST, as the peer's reset). A TLS socket's handle cannot be reset (Node
 * throws ERR_INVALID_HANDLE_TYPE, which would take the process down), so it is destroyed instead.
 * Nor can a socket whose end was asked for (its FIN queued or on its way): libuv refuses the reset
 * while the shutdown is under way (EINVAL, which Node emits as the socket's error at once, and a
 * relay took it for the client resetting the session: every MySQL session through the gateway's
 * listener that the client ended with COM_QUIT was recorded as "client reset: EINVAL"). It is
 * closed instead: its direction was ended already.
 */
export function resetSocket(socket: Socket): void {
  if (socket instanceof TLSSocket || socket.writableEnded) socket.destroy();
  else socket.resetAndDestroy();
}
