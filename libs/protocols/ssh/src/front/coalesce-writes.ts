import type { Socket } from 'node:net';

/**
 * Gathers the writes a socket gets within one tick of the event loop into one system call. ssh2
 * writes every SSH packet it sends as three writes (length, ciphertext, MAC or tag), each its own
 * write(2) on an uncorked socket; corked until the tick ends, a burst of packets leaves as one
 * writev. Keystroke echoes are not held: the tick ends before the event loop waits again.
 */
export function coalesceWrites(socket: Socket): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = (...args: unknown[]) => {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    return write(...args);
  };
}

/**
 * The socket under an ssh2 Client or server-side Connection (ssh2 1.17 keeps it as `_sock`; not
 * public API, pinned by package.json): undefined when it is not a net.Socket (an injected stream).
 */
export function sshSocket(connection: object): Socket | undefined {
  const socket = (connection as { _sock?: unknown })._sock;
  return socket &&
    typeof (socket as Socket).cork === 'function' &&
    typeof (socket as Socket).setNoDelay === 'function'
    ? (socket as Socket)
    : undefined;
}
