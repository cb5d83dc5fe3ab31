import { createServer, connect, type Server, type Socket } from 'node:net';
import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { refuseSocket, type RefusedClient, type Refusal } from '@tollgate/protocol-tcp';
import { postgresRefuser } from './postgres.refuser';

/** A listener that refuses every connection as `tollgate connect` does, and reports how each went. */
async function refusingServer(client: RefusedClient, refusal: Refusal, timeoutMs?: number) {
  const outcomes: boolean[] = [];
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (socket) => {
    void refuseSocket(socket, client, refusal, timeoutMs).then((said) => outcomes.push(said));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0, outcomes };
}

/** What a raw client that sends `bytes` receives, and how its socket ends. */
function rawClient(port: number, bytes: Buffer | undefined): Promise<{ data: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const socket: Socket = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), ...(error ? { error } : {}) }));
    if (bytes) socket.write(bytes);
  });
}

describe('refuseSocket with the PostgreSQL refuser', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });
  const notFound: Refusal = { kind: 'not-found', message: 'no connection named "nope"' };

  it('tells a PostgreSQL client the refusal when the protocol is known', async () => {
    const { server, port, outcomes } = await refusingServer({ protocol: postgresRefuser }, notFound);
    servers.push(server);
    const client = new Client({ host: '127.0.0.1', port, user: 'u', database: 'd' });
    await expect(client.connect()).rejects.toMatchObject({
      severity: 'FATAL',
      code: '3D000',
      message: 'tollgate: no connection named "nope"',
    });
    await expect.poll(() => outcomes).toEqual([true]);
  });

  it('recognizes a PostgreSQL client among several protocols, SSLRequest first', async () => {
    const { server, port } = await refusingServer({ oneOf: [postgresRefuser] }, notFound);
    servers.push(server);
    const client = new Client({ host: '127.0.0.1', port, user: 'u', database: 'd', ssl: true });
    // An SSLRequest answered N: node-postgres then gives up on TLS, having been refused TLS.
    await expect(client.connect()).rejects.toThrow(/does not support SSL/);
    const plain = new Client({ host: '127.0.0.1', port, user: 'u', database: 'd' });
    await expect(plain.connect()).rejects.toMatchObject({ code: '3D000' });
  });

  it('resets a client it does not recognize, sending it nothing', async () => {
    const { server, port, outcomes } = await refusingServer({ oneOf: [postgresRefuser] }, notFound);
    servers.push(server);
    const http = await rawClient(port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(http).toEqual({ data: Buffer.alloc(0), error: 'ECONNRESET' });
    await expect.poll(() => outcomes).toEqual([false]);
  });

  it('resets a client that says nothing in time', async () => {
    const { server, port, outcomes } = await refusingServer({ oneOf: [postgresRefuser] }, notFound, 200);
    servers.push(server);
    expect(await rawClient(port, undefined)).toEqual({ data: Buffer.alloc(0), error: 'ECONNRESET' });
    expect(outcomes).toEqual([false]);
  });
});
