import type { Socket } from 'node:net';
import type { TcpTarget } from '@tollgate/proto';
import { connectWithFrameReads } from './socket-reads';
import { TargetUnreachableError } from './target-unreachable.error';

/**
 * Dials a TCP target; rejects with TargetUnreachableError (refused, no route, timeout). The socket
 * comes paused, and reads into tunnel-frame-ready buffers once relaySocket takes it.
 */
export function dialTcpTarget(target: Pick<TcpTarget, 'host' | 'port'>, timeoutMs: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connectWithFrameReads({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    const where = `${target.host}:${target.port}`;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TargetUnreachableError(`connecting to ${where} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new TargetUnreachableError(`cannot connect to ${where}: ${error.code ?? error.message}`));
    });
  });
}
