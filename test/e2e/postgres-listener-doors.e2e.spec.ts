import { Socket } from 'node:net';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { networkInterfaces } from 'node:os';
import {
  createTestDatabase,
  loginDevUser,
  makeCertificate,
  makeTempDir,
  startTunnelGateway,
  type CliProcess,
  type TunnelGateway,
} from '@tollgate/testing';

/**
 * Guessing credentials at the gateway's PostgreSQL listener: each guess is answered in PostgreSQL
 * terms, but past a few failures a minute an address's logins are refused before their credential
 * is looked at (a valid one included), and the refusals are recorded without a record per guess.
 */
describe('PostgreSQL listener: guessing credentials', () => {
  let gateway: TunnelGateway;
  let port: number;
  let developerToken: string;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    gateway = await startTunnelGateway(['--dev-idp', '--dev-idp-port', '0', '--postgres-port', '0'], {
      DATABASE_URL: store.url,
    });
    processes.push(gateway.cli);
    const address = /"postgresAddress":"([^"]+):(\d+)"/.exec(gateway.cli.output());
    if (!address) throw new Error(`no postgresAddress in the gateway log:\n${gateway.cli.output()}`);
    port = Number(address[2]);
    developerToken = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** A login from `localAddress` (any of 127/8): the refusal's SQLSTATE and message. */
  const login = async (password: string, localAddress = '127.0.0.1', user = 'developer@tollgate.test') => {
    const stream = () => {
      const socket = new Socket();
      const connect = socket.connect.bind(socket);
      Object.assign(socket, {
        connect: (p: number, host: string) => connect({ port: p, host, localAddress }),
      });
      return socket;
    };
    const client = new Client({
      host: '127.0.0.1',
      port,
      user,
      database: 'pg-none',
      password,
      stream,
    });
    return loginOutcome(client);
  };

  it('refuses a user name on an address past 10 failed logins a minute, a valid credential too; refusals recorded, throttled', async () => {
    const guesser = '127.0.0.3';
    for (let i = 0; i < 10; i++)
      expect(await login(`tgk_000000000000_guess${i}`, guesser)).toMatchObject({ code: '28P01' });
    const blocked = await login(developerToken, guesser);
    expect(blocked.code).toBe('28000');
    expect(blocked.message).toMatch(
      /^tollgate: too many failed logins from 127\.0\.0\.3 as "developer@tollgate\.test": try again in \d+ s$/,
    );
    // Further guesses cost no credential check and no record each.
    const before = (await gateway.auditRecords('authenticate')).length;
    for (let i = 0; i < 5; i++)
      expect((await login(`tgk_000000000000_more${i}`, guesser)).code).toBe('28000');
    const records = await gateway.auditRecords('authenticate');
    expect(records.length).toBe(before);
    const lockouts = records.filter((r) =>
      r.reason.startsWith('too many failed logins from 127.0.0.3 as "developer@tollgate.test"'),
    );
    expect(lockouts).toHaveLength(1);
    expect(lockouts[0]).toMatchObject({ decision: 'deny' });
    expect(JSON.stringify(lockouts[0])).not.toContain(developerToken);
    // Another address, or another user name on the guesser's address (loopback and a shared NAT
    // are many people's), is not held to the guesser's count: a valid credential reaches the access
    // decision (no such connection here).
    expect(await login(developerToken, '127.0.0.4')).toMatchObject({ code: '3D000' });
    const neighbour = await login(developerToken, guesser, 'Developer@tollgate.test');
    expect(neighbour).toMatchObject({ code: '3D000' });
  });

  it('holds an address to ten times that whatever user names its guesses give', async () => {
    const guesser = '127.0.0.5';
    for (let i = 0; i < 100; i++) {
      const user = `guess-${i % 20}@tollgate.test`; // five guesses per name: none is held alone
      expect(await login(`tgk_000000000000_guess${i}`, guesser, user)).toMatchObject({ code: '28P01' });
    }
    const blocked = await login(developerToken, guesser);
    expect(blocked).toMatchObject({ code: '28000' });
    expect(blocked.message).toMatch(
      /^tollgate: too many failed logins from 127\.0\.0\.5: try again in \d+ s$/,
    );
    expect(await login(developerToken, '127.0.0.6')).toMatchObject({ code: '3D000' });
  });
});

/** This machine's first IPv4 address that is not loopback (the tests need one). */
function outsideAddress(): string {
  for (const addresses of Object.values(networkInterfaces()))
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  throw new Error('no non-loopback IPv4 address on this machine');
}

/**
 * A client that is not on this machine logging in without TLS is refused before it sends its
 * password, told so in PostgreSQL terms, and the refusal is recorded (once a minute per address).
 */
describe('PostgreSQL listener: plain text from another machine', () => {
  let gateway: TunnelGateway;
  let port: number;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    const temp = makeTempDir('tollgate-listener-doors-');
    cleanups.push(() => temp.remove());
    const cert = makeCertificate(temp.path, 'listener');
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    gateway = await startTunnelGateway(
      [
        '--dev-idp',
        '--dev-idp-port',
        '0',
        '--host',
        '0.0.0.0',
        '--postgres-port',
        '0',
        '--tls-cert',
        cert.certFile,
        '--tls-key',
        cert.keyFile,
      ],
      { DATABASE_URL: store.url },
    );
    processes.push(gateway.cli);
    const address = /"postgresAddress":"([^"]+):(\d+)"/.exec(gateway.cli.output());
    if (!address) throw new Error(`no postgresAddress in the gateway log:\n${gateway.cli.output()}`);
    port = Number(address[2]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('refuses it with 28000 before the password, and records the refusal', async () => {
    const host = outsideAddress();
    const attempt = async () => {
      const client = new Client({
        host,
        port,
        user: 'u',
        database: 'pg-none',
        password: 'secret',
        ssl: false,
      });
      return loginOutcome(client);
    };
    for (let i = 0; i < 3; i++)
      expect(await attempt()).toEqual({
        code: '28000',
        message: 'tollgate: this listener accepts TLS connections only (sslmode=require)',
      });
    const refused = (await gateway.auditRecords('authenticate')).filter(
      (r) => r.reason === 'this listener accepts TLS connections only (sslmode=require)',
    );
    expect(refused).toHaveLength(1);
    expect(JSON.stringify(refused[0])).toContain(host);
    expect(JSON.stringify(refused[0])).not.toContain('secret');
  });
});

/** How a login went: `connected`, or the refusal's SQLSTATE and message. */
async function loginOutcome(client: Client): Promise<{ code: string | undefined; message: string }> {
  client.on('error', () => undefined);
  try {
    await client.connect();
    return { code: 'connected', message: '' };
  } catch (error) {
    const { code, message } = error as { code?: string; message: string };
    return { code, message };
  } finally {
    await client.end().catch(() => undefined);
  }
}
