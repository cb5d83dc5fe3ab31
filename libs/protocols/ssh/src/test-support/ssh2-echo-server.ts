import type { AddressInfo } from 'node:net';
import { Server, type Connection } from 'ssh2';
import { generateEd25519KeyPair } from '../keys/ed25519-key-pair';

/**
 * For the transport specs: an ssh2 server on loopback that accepts anyone and answers every exec by
 * echoing its stdin back (what the server decrypted, encrypted again), then exit status 0.
 * `onConnection` runs first for each connection (to hook its handshake, say).
 */
export async function startSsh2EchoServer(
  onConnection: (connection: Connection) => void = () => undefined,
): Promise<{ port: number; connections: Connection[]; close: () => Promise<void> }> {
  const hostKey = generateEd25519KeyPair().private;
  const connections: Connection[] = [];
  const server = new Server({ hostKeys: [hostKey] }, (connection) => {
    connections.push(connection);
    onConnection(connection);
    connection.on('authentication', (context) => context.accept());
    connection.on('ready', () =>
      connection.on('session', (accept) => {
        accept().on('exec', (acceptExec) => {
          const channel = acceptExec();
          channel.pipe(channel, { end: false });
          channel.on('end', () => {
            channel.exit(0);
            channel.end();
          });
        });
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
