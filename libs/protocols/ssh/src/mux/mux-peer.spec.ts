import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClientChannel, ServerChannel } from 'ssh2';
import { INITIAL_WINDOW } from './mux-channel';
import { MuxClient, MuxConnection } from './mux-peer';

/** Two ends of a loopback TCP connection (a real stream with real backpressure). */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const near = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(near, 'connect');
  const [far] = await accepted;
  server.close();
  return [near, far];
}

const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

async function pair(): Promise<{ client: MuxClient; connection: MuxConnection; far: Socket }> {
  const [near, far] = await socketPair();
  sockets.push(near, far);
  const connection = new MuxConnection(far);
  const ready = once(connection, 'ready');
  const client = new MuxClient(near);
  await client.start(5_000);
  await ready;
  return { client, connection, far };
}

describe('SSH channel multiplexer', () => {
  it('opens an exec channel with its env, carries both ways with flow control, then exit status, EOF and close', async () => {
    const { client, connection } = await pair();
    const seen: { command?: string; env: Record<string, string> } = { env: {} };
    connection.on('session', (accept: () => NodeJS.EventEmitter) => {
      const session = accept();
      session.on(
        'env',
        (_a: unknown, _r: unknown, info: { key: string; val: string }) => (seen.env[info.key] = info.val),
      );
      session.on(
        'exec',
        (acceptChannel: () => ServerChannel, _reject: unknown, info: { command: string }) => {
          seen.command = info.command;
          const channel = acceptChannel();
          // Echo what arrives, upper-cased, then report the byte count on stderr and exit 7.
          let count = 0;
          channel.on('data', (chunk: Buffer) => {
            count += chunk.length;
            if (!channel.write(chunk)) {
              channel.pause();
              channel.once('drain', () => channel.resume());
            }
          });
          channel.on('end', () => {
            channel.stderr.write(`${count}\n`);
            channel.exit(7);
            channel.end();
          });
        },
      );
    });
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      client.exec('cat', { env: { LANG: 'C' } }, (error, opened) =>
        error ? reject(error) : resolve(opened),
      ),
    );
    const total = 3 * INITIAL_WINDOW + 12345;
    const input = Buffer.alloc(total);
    for (let i = 0; i < total; i++) input[i] = i % 251;
    // Nothing is read until everything is written: the echo stops at the window, and resumes.
    const written = new Promise<void>((resolve) => channel.end(input, resolve));
    const stderr: Buffer[] = [];
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const exit = new Promise<unknown[]>((resolve) =>
      channel.once('exit', (...args: unknown[]) => resolve(args)),
    );
    const closed = once(channel, 'close');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const output: Buffer[] = [];
    channel.on('data', (chunk: Buffer) => output.push(chunk));
    await written;
    await closed;
    expect(seen).toEqual({ command: 'cat', env: { LANG: 'C' } });
    expect(Buffer.concat(output).equals(input)).toBe(true);
    expect(Buffer.concat(stderr).toString()).toBe(`${total}\n`);
    expect(await exit).toEqual([7]);
  });

  it('refuses a channel the other side does not accept, with its reason', async () => {
    const { client, connection } = await pair();
    connection.on('session', (_accept: unknown, reject: () => void) => reject());
    const error = await new Promise<Error | undefined>((resolve) => client.subsys('sftp', (e) => resolve(e)));
    expect(error?.message).toBe('too many channels');
  });

  it('ends the session at a bad frame, closing its channels (fail closed)', async () => {
    const { client, connection, far } = await pair();
    connection.on('session', (accept: () => NodeJS.EventEmitter) =>
      accept().on('shell', (acceptChannel: () => ServerChannel) => acceptChannel()),
    );
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      client.shell(false, {}, (error, opened) => (error ? reject(error) : resolve(opened))),
    );
    channel.resume();
    const errors: Error[] = [];
    client.on('protocol-error', (error: Error) => errors.push(error));
    const closed = once(channel, 'close');
    far.write(Buffer.from([0, 0, 0, 5, 99, 0, 0, 0, 2]));
    await closed;
    expect(errors.map((e) => e.message)).toEqual(['bad frame: unknown type 99']);
  });

  it('tells a user side that meets an older, SSH-speaking agent to upgrade both', async () => {
    const [near, far] = await socketPair();
    sockets.push(near, far);
    far.write('SSH-2.0-ssh2js1.17.0\r\n');
    await expect(new MuxClient(near).start(5_000)).rejects.toThrow(/speaks SSH on the session stream/);
  });
});
