import { Client, type Connection } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSsh2EchoServer } from '../test-support/ssh2-echo-server';
import { installSsh2CipherKeys } from './ssh2-cipher-keys';
import { releaseHandshakeState } from './ssh2-handshake-state';

// releaseHandshakeState relies on ssh2 internals: when package.json moves ssh2, this checks that a
// connection whose finished exchanges were released still rekeys (either side) and carries data.
describe('releaseHandshakeState', () => {
  let server: Awaited<ReturnType<typeof startSsh2EchoServer>>;
  let port: number;
  let serverConnections: Connection[];

  beforeAll(async () => {
    installSsh2CipherKeys();
    server = await startSsh2EchoServer((connection) =>
      connection.on('handshake', () => releaseHandshakeState(connection)),
    );
    ({ port, connections: serverConnections } = server);
  });
  afterAll(() => server.close());

  const echo = (client: Client, payload: Buffer) =>
    new Promise<Buffer>((resolve, reject) =>
      client.exec('echo', (error, channel) => {
        if (error) return reject(error);
        const out: Buffer[] = [];
        channel.on('data', (chunk: Buffer) => out.push(chunk));
        channel.on('close', () => resolve(Buffer.concat(out)));
        channel.end(payload);
      }),
    );

  it.each([['curve25519-sha256'], ['ecdh-sha2-nistp256'], ['diffie-hellman-group14-sha256']])(
    'with %s, rekeys from either side after each exchange was released and carries data intact',
    async (kex) => {
      const payload = Buffer.alloc(256 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 131) & 0xff;
      const client = new Client();
      await new Promise<void>((resolve, reject) => {
        client.once('ready', resolve).once('error', reject);
        client.connect({ host: '127.0.0.1', port, username: 'u', algorithms: { kex: [kex as never] } });
      });
      const connection = serverConnections.at(-1)!;
      const kexState = () =>
        (connection as unknown as { _protocol: { _kex: Record<string, unknown> } })._protocol._kex;
      // Released: the finished exchange keeps its session ID, not its key pair or key derivation.
      expect(kexState()['sessionID']).toBeInstanceOf(Buffer);
      expect(Object.hasOwn(kexState(), 'finish')).toBe(true);
      expect((kexState()['finish'] as () => unknown)()).toBe(false);
      expect((await echo(client, payload)).equals(payload)).toBe(true);

      const sessionId = kexState()['sessionID'];
      // ssh2's client has no public rekey; its protocol starts one as OpenSSH's RekeyLimit would.
      await new Promise<void>((resolve) => {
        connection.once('rekey', () => resolve());
        (client as unknown as { _protocol: { rekey(): void } })._protocol.rekey();
      });
      expect((await echo(client, payload)).equals(payload)).toBe(true);
      await new Promise<void>((resolve) => {
        connection.once('rekey', () => resolve());
        connection.rekey();
      });
      expect((await echo(client, payload)).equals(payload)).toBe(true);
      // A rekey keeps the session ID of the first exchange.
      expect(kexState()['sessionID']).toEqual(sessionId);
      client.end();
    },
    60_000,
  );
});
