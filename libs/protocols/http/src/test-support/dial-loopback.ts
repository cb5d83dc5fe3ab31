import { connect, type Socket } from 'node:net';

/** An HttpSession's `connect` for tests: a TCP connection to a target on 127.0.0.1:`port`. */
export function dialLoopback(port: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });
}
