import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface TcpTarget {
  readonly port: number;
  readonly server: Server;
  /** Sockets the target has accepted so far. */
  readonly accepted: () => number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 and a free port; `serve` handles each accepted socket. */
export async function startTcpTarget(serve: (socket: Socket) => void): Promise<TcpTarget> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    serve(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    accepted: () => accepted,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Echoes every byte back and half-closes when the client does. */
export function echoTarget(): Promise<TcpTarget> {
  return startTcpTarget((socket) => socket.pipe(socket));
}

/**
 * Reads until the client half-closes, then answers with the byte count and the bytes reversed,
 * then closes: it only answers if a FIN really arrived (half-close propagation).
 */
export function replyAfterEofTarget(): Promise<TcpTarget> {
  return startTcpTarget((socket) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      const all = Buffer.concat(chunks);
      socket.end(Buffer.concat([Buffer.from(`${all.length}:`), Buffer.from(all).reverse()]));
    });
  });
}

/** Opens a port and closes it again: a target address where nothing listens. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
