import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bootstrapAdminToken,
  createTestDatabase,
  loginDevUser,
  MACHINE_POSTGRES,
  makeTempDir,
  runPsql,
  spawnAgent,
  spawnCli,
  startTunnelGateway,
  type CliProcess,
  type TunnelGateway,
} from '@tollgate/testing';

/** Access tokens live this long here, so a test sees several lifetimes pass. */
const TOKEN_TTL_SECONDS = 3;

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
  - name: people
    subjects: ['group:developers', 'group:dba']
    connections: [pg]
    verbs: [connect]
`;

/**
 * `tollgate connect` on a saved login runs across token lifetimes: each session opens with a token
 * refreshed before it expires (the refresh token rotated in the credentials file), sessions already
 * open are not touched by a refresh, and a new `tollgate login` (a changed file) counts at once.
 */
describe('tollgate connect across token lifetimes', () => {
  let gateway: TunnelGateway;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let credentialsFile: string;
  /** Admin tokens expire in seconds here too: a fresh one per call. */
  const admin = () => bootstrapAdminToken(gateway.httpUrl);
  let port: number;

  /** What `tollgate login` saves for a dev IdP user. */
  const login = async (user: string) => {
    const tokens = await loginDevUser(gateway.httpUrl, user);
    expect(tokens.refresh_token).toBeDefined();
    writeFileSync(
      credentialsFile,
      JSON.stringify({
        gatewayUrl: gateway.httpUrl,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token,
        expiresAt: Math.floor(Date.now() / 1000) + tokens.expires_in,
        subject: user,
        name: user,
      }),
      { mode: 0o600 },
    );
  };
  const saved = () => JSON.parse(readFileSync(credentialsFile, 'utf8')) as Record<string, string>;
  const latestSessionSubject = async () => {
    const response = await fetch(`${gateway.httpUrl}/api/v1/sessions?connection=pg&limit=1`, {
      headers: { authorization: `Bearer ${await admin()}` },
    });
    return ((await response.json()) as { items: { subject: string }[] }).items[0]?.subject;
  };

  beforeAll(async () => {
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    gateway = await startTunnelGateway(['--dev-idp', '--dev-idp-port', '0'], {
      DATABASE_URL: store.url,
      TOLLGATE_ACCESS_TOKEN_TTL_SECONDS: String(TOKEN_TTL_SECONDS),
    });
    processes.push(gateway.cli);
    const api = async (method: string, path: string, body: unknown) =>
      fetch(`${gateway.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${await admin()}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const target = await createTestDatabase();
    cleanups.push(target.drop);
    const agent = (await (await api('POST', '/api/v1/agents', { name: 'edge' })).json()) as { token: string };
    const created = await api('POST', '/api/v1/connections', {
      name: 'pg',
      protocol: 'postgres',
      target: {
        host: MACHINE_POSTGRES.host,
        port: MACHINE_POSTGRES.port,
        database: target.name,
        username: MACHINE_POSTGRES.user,
        tls: { mode: 'disable' },
      },
      agents: ['edge'],
    });
    expect(created.status).toBe(201);
    processes.push(await spawnAgent(gateway.grpcUrl, agent.token));

    const dir = makeTempDir('tollgate-login-');
    cleanups.push(() => dir.remove());
    credentialsFile = join(dir.path, 'credentials.json');
    await login('developer');
    const connect = spawnCli(['connect', 'pg', '--port', '0', '--grpc', gateway.grpcUrl], {
      TOLLGATE_TOKEN: undefined,
      TOLLGATE_URL: gateway.httpUrl,
      TOLLGATE_CREDENTIALS_FILE: credentialsFile,
    });
    processes.push(connect);
    port = Number((await connect.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('opens sessions across several token lifetimes, and an open session outlives them all', async () => {
    const first = saved();
    const open = new Client({ host: '127.0.0.1', port, user: 'me', database: 'app' });
    await open.connect();
    try {
      const started = Date.now();
      let runs = 0;
      while (Date.now() - started < 3.5 * TOKEN_TTL_SECONDS * 1000 || runs < 4) {
        const result = await runPsql(port, ['-c', `select ${runs}`]);
        expect(result).toMatchObject({ code: 0, stdout: `${runs}\n` });
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
      // The login was refreshed (access token and rotated refresh token written back) ...
      expect(saved().accessToken).not.toBe(first.accessToken);
      expect(saved().refreshToken).not.toBe(first.refreshToken);
      // ... and the session opened with the first token still works, long after it expired.
      expect((await open.query<{ n: number }>('select 7 as n')).rows).toEqual([{ n: 7 }]);
    } finally {
      await open.end();
    }
  });

  it('uses a new `tollgate login` at the next session, without a restart', async () => {
    expect((await runPsql(port, ['-c', 'select 1'])).code).toBe(0);
    expect(await latestSessionSubject()).toMatch(/^user:/);
    const before = await latestSessionSubject();
    await login('dba');
    expect((await runPsql(port, ['-c', 'select 1'])).code).toBe(0);
    const after = await latestSessionSubject();
    expect(after).toMatch(/^user:/);
    expect(after).not.toBe(before);
  });
});
