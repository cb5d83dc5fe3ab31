import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { serializeStartupPacket } from '../frontend-message.serializer';

interface Backend {
  readonly host: string;
  readonly port: number;
  readonly processId: number;
  readonly secretKey: number;
}

/**
 * Clients get a BackendKeyData of Tollgate's own; a CancelRequest carrying it is routed here, on a
 * new connection, and forwarded to the right backend with the real key. The real key never reaches
 * the client, so a client cannot cancel queries of sessions that are not its own.
 */
export class CancelRegistry {
  private readonly backends = new Map<string, Backend>();

  register(backend: Backend): { processId: number; secretKey: number; release: () => void } {
    for (;;) {
      const processId = randomInt(1, 2 ** 31 - 1);
      const secretKey = randomInt(-(2 ** 31), 2 ** 31 - 1);
      const key = `${processId}:${secretKey}`;
      if (this.backends.has(key)) continue;
      this.backends.set(key, backend);
      return { processId, secretKey, release: () => this.backends.delete(key) };
    }
  }

  /** Sends the cancel to the backend; resolves false if the key is unknown (wrong agent or ended session). */
  async cancel(processId: number, secretKey: number): Promise<boolean> {
    const backend = this.backends.get(`${processId}:${secretKey}`);
    if (!backend) return false;
    await sendCancelRequest(backend);
    return true;
  }
}

/**
 * Asks the server to cancel what a backend runs (a CancelRequest on a connection of its own, with
 * the backend's real key). Resolves when the server has read it and closed that connection.
 */
export function sendCancelRequest(backend: Backend): Promise<void> {
  return new Promise<void>((resolve) => {
    const socket = connect({ host: backend.host, port: backend.port }, () => {
      socket.end(
        serializeStartupPacket({
          name: 'cancelRequest',
          processId: backend.processId,
          secretKey: backend.secretKey,
        }),
      );
    });
    socket.setTimeout(5_000, () => socket.destroy());
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
  });
}
