import { KeyObject } from 'node:crypto';
import { Client, type Connection } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSsh2EchoServer } from '../test-support/ssh2-echo-server';
import { installSsh2CipherKeys } from './ssh2-cipher-keys';

// The wrapper relies on ssh2 internals: when package.json moves ssh2, this fails until the wrapper
// has been checked (and its pinned version moved) against the new version.
describe('installSsh2CipherKeys', () => {
  let server: Awaited<ReturnType<typeof startSsh2EchoServer>>;
  let port: number;
  let serverConnections: Connection[];

  beforeAll(async () => {
    expect(installSsh2CipherKeys()).toBe(true);
    expect(installSsh2CipherKeys()).toBe(true);
    server = await startSsh2EchoServer();
    ({ port, connections: serverConnections } = server);
  });
  afterAll(() => server.close());

  it.each([
    ['aes128-gcm@openssh.com', 'hmac-sha2-256-etm@openssh.com'],
    ['aes256-gcm@openssh.com', 'hmac-sha2-256-etm@openssh.com'],
    ['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'],
    ['aes256-ctr', 'hmac-sha2-512'],
    ['aes192-ctr', 'hmac-sha1'],
  ])('carries 3 MiB both ways intact with %s and %s', async (cipher, hmac) => {
    const payload = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const client = new Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve).once('error', reject);
      client.connect({
        host: '127.0.0.1',
        port,
        username: 'u',
        algorithms: { cipher: [cipher as never], hmac: [hmac as never] },
      });
    });
    const { echoed, code } = await new Promise<{ echoed: Buffer; code: number }>((resolve, reject) =>
      client.exec('echo', (error, channel) => {
        if (error) return reject(error);
        const out: Buffer[] = [];
        let code = -1;
        channel.on('data', (chunk: Buffer) => out.push(chunk));
        channel.on('exit', (c: number) => (code = c));
        channel.on('close', () => resolve({ echoed: Buffer.concat(out), code }));
        channel.end(payload);
      }),
    );
    // In effect: the server's packet cipher holds a key object, not the key's bytes.
    const cipherState = (serverConnections.at(-1) as unknown as { _protocol: { _cipher: object } })._protocol
      ._cipher as Record<string, unknown>;
    const key = cipher.includes('gcm') ? cipherState['_encKey'] : cipherState['_macKey'];
    expect(key).toBeInstanceOf(KeyObject);
    // An idle connection's decipher holds no Buffer-pool slab and no finished per-packet decipher.
    const decipherState = (serverConnections.at(-1) as unknown as { _protocol: { _decipher: object } })
      ._protocol._decipher as Record<string, unknown>;
    for (const field of ['_tag', '_block', '_mac']) {
      const scratch = decipherState[field];
      if (scratch !== undefined)
        expect((scratch as Buffer).buffer.byteLength).toBe((scratch as Buffer).length);
    }
    if (cipher.includes('gcm')) expect(decipherState['_decipherInstance']).toBeNull();
    client.end();
    expect(code).toBe(0);
    expect(echoed.equals(payload)).toBe(true);
  });
});
