import { createServer } from 'node:net';
import { runPostgresSession, type PostgresSessionOptions } from '../proxy/postgres-session';

/**
 * For tests: a loopback listener that runs a PostgreSQL session for each accepted socket, with the
 * options `options()` returns at that moment (so a test can change the target or the gate).
 */
export async function serveSessions(
  options: () => PostgresSessionOptions,
): Promise<{ readonly port: number; close(): Promise<void> }> {
  const server = createServer((socket) => void runPostgresSession(socket, options()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
