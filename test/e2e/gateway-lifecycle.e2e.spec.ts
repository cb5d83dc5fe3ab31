import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bootstrapAdminToken,
  createTestDatabase,
  makeDataDir,
  makeTempDir,
  spawnCli,
  spawnGateway,
  type CliProcess,
} from '@tollgate/testing';

const tcpConnection = {
  name: 'cache',
  protocol: 'tcp',
  tags: { env: 'dev' },
  target: { host: '127.0.0.1', port: 6379 },
};

async function createConnection(httpUrl: string, body: unknown): Promise<number> {
  const response = await fetch(`${httpUrl}/api/v1/connections`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: await adminAuthorization(httpUrl) },
    body: JSON.stringify(body),
  });
  return response.status;
}

async function connectionNames(httpUrl: string): Promise<string[]> {
  const response = await fetch(`${httpUrl}/api/v1/connections`, {
    headers: { authorization: await adminAuthorization(httpUrl) },
  });
  return ((await response.json()) as { items: { name: string }[] }).items.map((c) => c.name);
}

async function adminAuthorization(httpUrl: string): Promise<string> {
  return `Bearer ${await bootstrapAdminToken(httpUrl)}`;
}

/** Tests that start two gateways (or one and an intruder) in a row get room for both starts. */
const TWO_STARTS = 120_000;

describe('gateway process lifecycle (real `tollgate` processes)', () => {
  const running: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it(
    'keeps connections across a SIGTERM restart on the embedded store',
    async () => {
      const dir = makeDataDir();
      cleanups.push(dir.remove);
      const first = await spawnGateway(['--data-dir', dir.path]);
      running.push(first.cli);
      expect((await fetch(`${first.httpUrl}/healthz`)).status).toBe(200);
      expect(await createConnection(first.httpUrl, tcpConnection)).toBe(201);

      expect(await first.cli.stop('SIGTERM')).toBe(0);
      expect(first.cli.output()).toContain('gateway stopped');

      const second = await spawnGateway(['--data-dir', dir.path]);
      running.push(second.cli);
      expect(await connectionNames(second.httpUrl)).toEqual(['cache']);
    },
    TWO_STARTS,
  );

  it(
    'refuses a second gateway on the same data directory; the first keeps serving',
    async () => {
      const dir = makeDataDir();
      cleanups.push(dir.remove);
      const first = await spawnGateway(['--data-dir', dir.path]);
      running.push(first.cli);
      expect(await createConnection(first.httpUrl, tcpConnection)).toBe(201);

      const intruder = spawnCli(['gateway', '--data-dir', dir.path, '--http-port', '0', '--grpc-port', '0']);
      running.push(intruder);
      expect(await intruder.exited()).toBe(1);
      expect(intruder.output()).toContain(`in use by pid ${first.cli.child.pid}`);
      expect(intruder.output()).not.toMatch(/\n\s+at /); // a message, not a stack trace

      expect(await createConnection(first.httpUrl, { ...tcpConnection, name: 'cache-2' })).toBe(201);
      expect(await connectionNames(first.httpUrl)).toEqual(['cache', 'cache-2']);
    },
    TWO_STARTS,
  );

  it(
    'recovers the lock left by a gateway killed with SIGKILL',
    async () => {
      const dir = makeDataDir();
      cleanups.push(dir.remove);
      const first = await spawnGateway(['--data-dir', dir.path]);
      expect(await createConnection(first.httpUrl, tcpConnection)).toBe(201);
      await first.cli.stop('SIGKILL');

      const second = await spawnGateway(['--data-dir', dir.path]);
      running.push(second.cli);
      expect(await connectionNames(second.httpUrl)).toEqual(['cache']);
    },
    TWO_STARTS,
  );

  it(
    'lets an in-flight request finish when SIGTERM arrives',
    async () => {
      const dir = makeDataDir();
      cleanups.push(dir.remove);
      const gw = await spawnGateway(['--data-dir', dir.path]);
      running.push(gw.cli);
      const body = Buffer.from(JSON.stringify(tcpConnection));
      const url = new URL(`${gw.httpUrl}/api/v1/connections`);
      const authorization = await adminAuthorization(gw.httpUrl);

      const status = new Promise<number>((resolve, reject) => {
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': body.length, authorization },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        // Half the body now, SIGTERM, then the rest: the request is in flight during shutdown.
        req.write(body.subarray(0, 10));
        setTimeout(() => {
          gw.cli.child.kill('SIGTERM');
          setTimeout(() => req.end(body.subarray(10)), 300);
        }, 200);
      });
      expect(await status).toBe(201);
      expect(await gw.cli.exited()).toBe(0);

      const again = await spawnGateway(['--data-dir', dir.path]);
      running.push(again.cli);
      expect(await connectionNames(again.httpUrl)).toEqual(['cache']);
    },
    TWO_STARTS,
  );

  it('keeps connections across a restart on PostgreSQL (DATABASE_URL)', async () => {
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    const first = await spawnGateway([], { DATABASE_URL: db.url });
    running.push(first.cli);
    expect(await (await fetch(`${first.httpUrl}/readyz`)).json()).toEqual({
      status: 'ready',
      store: 'postgres',
    });
    expect(await createConnection(first.httpUrl, tcpConnection)).toBe(201);
    expect(await first.cli.stop('SIGTERM')).toBe(0);

    const second = await spawnGateway(['--database-url', db.url]);
    running.push(second.cli);
    expect(await connectionNames(second.httpUrl)).toEqual(['cache']);
  });

  it('stops at start-up on a bad setting, naming it and the expected form', async () => {
    const bad = spawnCli(['gateway', '--http-port', 'eighty'], { TOLLGATE_LOG_LEVEL: 'chatty' });
    expect(await bad.exited()).toBe(1);
    expect(bad.output()).toContain('--http-port (or TOLLGATE_HTTP_PORT): expected a TCP port number');
    expect(bad.output()).toContain(
      'TOLLGATE_LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent',
    );

    const unreachable = spawnCli(['gateway', '--http-port', '0'], {
      DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/none',
    });
    expect(await unreachable.exited()).toBe(1);
    expect(unreachable.output()).toContain('127.0.0.1:1');
    expect(unreachable.output()).not.toContain('secret');
  });

  it('lists in --help only commands that answer their own --help', async () => {
    const help = spawnCli(['--help']);
    expect(await help.exited()).toBe(0);
    const commands = [...help.output().matchAll(/^ {2}(\w[\w-]*)/gm)]
      .map((m) => m[1])
      .filter((c) => c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['start', 'gateway']));
    for (const command of commands) {
      const own = spawnCli([command, '--help']);
      expect(await own.exited(), `tollgate ${command} --help`).toBe(0);
      expect(own.output()).toContain(`Usage: tollgate ${command}`);
      expect(own.output()).not.toMatch(/not (yet )?implemented/i);
    }
  });
});

describe('tollgate start (quickstart)', () => {
  it('brings the gateway up on the embedded store and prints where it listens', async () => {
    const dir = makeTempDir();
    const cli = spawnCli([
      'start',
      '--data-dir',
      dir.path,
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--dev-idp-port',
      '0',
      '--postgres-port',
      '0',
      '--mysql-port',
      '0',
      '--ssh-port',
      '0',
    ]);
    try {
      const match = await cli.waitFor(/API\s+(http:\/\/\S+)\/api\/v1/);
      const url = match[1];
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      expect(cli.output()).toContain(`pglite:${dir.path}`);
      // The PostgreSQL listener, over TLS with a self-signed certificate kept in the data directory.
      expect(cli.output()).toMatch(/postgres\s+127\.0\.0\.1:\d+\s+database = connection name/);
      // The MySQL listener beside it, with the same certificate.
      expect(cli.output()).toMatch(/mysql\s+127\.0\.0\.1:\d+\s+the same \(sent in clear over TLS\)/);
      expect(cli.output()).toMatch(/TLS certificate sha256:([0-9A-F]{2}:){31}[0-9A-F]{2}/);
      expect(cli.output()).toContain(join(dir.path, 'listener-tls', 'listener.crt'));
      expect(await cli.stop('SIGINT')).toBe(0);
    } finally {
      await cli.stop('SIGKILL');
      dir.remove();
    }
  });
});
