import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { serializeStartupPacket } from '../frontend-message.serializer';

interface Backend {
  readonly host: string;
  readonly port: number;
  readonly processId: number;
  readonly secretKey: number;
}

/** What a matching CancelRequest does: the session's interrupt (see StatementInterrupts). */
type Interrupt = (reason: string) => void;

/**
 * Clients get a BackendKeyData of Tollgate's own; a CancelRequest carrying it is routed here, on a
 * new connection, and interrupts the session it was given to, which cancels its statement in flight
 * with the backend's real key. The real key never reaches the client, so a client cannot cancel
 * queries of sessions that are not its own.
 */
export class CancelRegistry {
  private readonly sessions = new Map<string, Interrupt>();

  register(interrupt: Interrupt): { processId: number; secretKey: number; release: () => void } {
    for (;;) {
      const processId = randomInt(1, 2 ** 31 - 1);
      const secretKey = randomInt(-(2 ** 31), 2 ** 31 - 1);
      const key = `${processId}:${secretKey}`;
      if (this.sessions.has(key)) continue;
      this.sessions.set(key, interrupt);
      return { processId, secretKey, release: () => this.sessions.delete(key) };
    }
  }

  /** Interrupts the key's session; false if the key is unknown (wrong agent or ended session). */
  cancel(processId: number, secretKey: number, reason = 'CancelRequest from the client'): boolean {
    const interrupt = this.sessions.get(`${processId}:${secretKey}`);
    if (!interrupt) return false;
    interrupt(reason);
    return true;
  }
}

/**
 * One session's interrupts from outside its own stream (a client's CancelRequest through the
 * gateway): the session's relay listens once it runs; before that, or after it ended, an interrupt
 * does nothing (as a CancelRequest to an idle backend does).
 */
export class StatementInterrupts {
  private listener: Interrupt | undefined;

  listen(listener: Interrupt | undefined): void {
    this.listener = listener;
  }

  interrupt(reason: string): void {
    this.listener?.(reason);
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
