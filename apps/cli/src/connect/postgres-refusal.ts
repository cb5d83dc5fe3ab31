import type { Socket } from 'node:net';
import { OpenFailureCode } from '@tollgate/proto';
import {
  fatalErrorResponse,
  FrontendMessageParser,
  type FrontendMessage,
  type StartupPacket,
} from '@tollgate/protocol-postgres';

/** SQLSTATEs a PostgreSQL client shows for each way an open can fail. */
const SQLSTATES: Record<OpenFailureCode, string> = {
  [OpenFailureCode.UNSPECIFIED]: '08006',
  [OpenFailureCode.NOT_FOUND]: '3D000',
  [OpenFailureCode.AGENT_OFFLINE]: '08001',
  [OpenFailureCode.TARGET_UNREACHABLE]: '08001',
  [OpenFailureCode.DENIED]: '28000',
  [OpenFailureCode.INTERNAL]: '08006',
  [OpenFailureCode.UNRECOGNIZED]: '08006',
};

/**
 * Tells a PostgreSQL client why its session could not open, as a FATAL ErrorResponse it shows
 * (psql: `FATAL:  tollgate: ...`), instead of a bare connection reset. Answers SSLRequest with N,
 * reads the start-up packet, replies, closes.
 */
export function refusePostgresClient(socket: Socket, code: OpenFailureCode, message: string): void {
  const parser = new FrontendMessageParser();
  const timer = setTimeout(() => socket.destroy(), 10_000);
  const onMessage = (packet: StartupPacket | FrontendMessage) => {
    if (packet.name === 'sslRequest' || packet.name === 'gssEncRequest') {
      socket.write('N');
      setImmediate(() => feed(Buffer.alloc(0)));
    } else {
      clearTimeout(timer);
      socket.end(fatalErrorResponse(SQLSTATES[code], `tollgate: ${message}`));
    }
  };
  const feed = (chunk: Buffer) => {
    try {
      parser.parse(chunk, onMessage);
    } catch {
      clearTimeout(timer);
      socket.destroy();
    }
  };
  socket.on('data', feed);
  socket.once('close', () => clearTimeout(timer));
  socket.resume();
}
