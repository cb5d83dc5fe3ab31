import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  completeBrowserLogin,
  dial,
  echoTarget,
  loginDevUser,
  makeTempDir,
  seedEmbeddedStore,
  readAll,
  spawnCli,
  type CliProcess,
  type TcpTarget,
} from '@tollgate/testing';

interface AuditLine {
  subject: string;
  actorChain: { subject: string }[];
  action: string;
  target: string | null;
  decision: string;
  reason: string;
  payload: { displayName?: string; source?: string };
}

/** Session decisions (made where a session opens: address and port) apart from start-up checks. */
function bySource(records: unknown): [AuditLine[], AuditLine[]] {
  const lines = records as AuditLine[];
  const isSession = (l: AuditLine) => /:\d+$/.test(l.payload.source ?? '');
  return [lines.filter(isSession), lines.filter((l) => !isSession(l))];
}

/**
 * The acceptance, as a new user would try it: only `tollgate start` running, people log in
 * with `tollgate login` through the in-process dev IdP, service accounts delegate to child
 * processes with `tollgate token exchange`, and the audit log names who did what.
 */
describe('identity acceptance on the quickstart (`tollgate start`, real CLI processes)', () => {
  const dir = makeTempDir('tollgate-idq-');
  const processes: CliProcess[] = [];
  let echo: TcpTarget;
  let httpUrl: string;
  let grpcUrl: string;
  let adminToken: string;
  const env = () => ({ TOLLGATE_URL: httpUrl, TOLLGATE_GRPC_URL: grpcUrl, TOLLGATE_TOKEN: undefined });
  const run = async (args: string[], extra: Record<string, string | undefined> = {}) => {
    const cli = spawnCli(args, { ...env(), ...extra });
    processes.push(cli);
    const code = await cli.exited();
    return { code, output: cli.output() };
  };
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${httpUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  /** Starts `tollgate connect NAME`, sends one line through it, returns what came back and the log. */
  const roundTrip = async (name: string, extra: Record<string, string | undefined>) => {
    const connect = spawnCli(['connect', name, '--port', '0'], { ...env(), ...extra });
    processes.push(connect);
    const port = Number((await connect.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    const socket = await dial(port);
    const received = readAll(socket);
    socket.end('hello through tollgate\n');
    const result = await received;
    await connect.stop('SIGTERM');
    return { data: result.data.toString(), log: connect.output() };
  };

  beforeAll(async () => {
    echo = await echoTarget();
    const start = spawnCli(
      [
        'start',
        '--data-dir',
        seedEmbeddedStore(join(dir.path, 'data')),
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
      ],
      { TOLLGATE_LOG_LEVEL: 'warn' },
    );
    processes.push(start);
    httpUrl = (await start.waitFor(/API\s+(http:\/\/\S+)\/api\/v1/))[1]!;
    grpcUrl = `http://${(await start.waitFor(/gRPC\s+(\S+)/))[1]}`;
    await start.waitFor(/dev IdP\s+http/);
    await start.waitFor(/agent\s+"local"/);
    adminToken = (await loginDevUser(httpUrl, 'admin')).access_token;
    for (const [name, env] of [
      ['dev-echo', 'dev'],
      ['prod-echo', 'prod'],
    ] as const) {
      const created = await api('POST', '/api/v1/connections', {
        name,
        protocol: 'tcp',
        tags: { env },
        target: { host: '127.0.0.1', port: echo.port },
        agents: ['local'],
      });
      expect(created.status).toBe(201);
    }
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await echo?.close();
    dir.remove();
  });

  it('the demo developer logs in with `tollgate login`, reaches a dev connection, is refused prod, and both decisions are audited', async () => {
    const credentials = join(dir.path, 'developer.json');
    const login = spawnCli(['login'], { ...env(), TOLLGATE_CREDENTIALS_FILE: credentials });
    processes.push(login);
    const url = (await login.waitFor(/(http:\/\/\S+\/auth\/login\?\S+)/))[1];
    const redirect = new URL(url).searchParams.get('redirect_uri')!;
    // The browser: the IdP's login form, then the redirect to the CLI's loopback listener.
    await completeBrowserLogin(url, 'developer', 'developer-demo', { stopAt: redirect, follow: true });
    expect(await login.exited()).toBe(0);
    expect(login.output()).toMatch(
      /Logged in to .* as developer@tollgate\.test \(user:[0-9a-f-]{36}; groups: developers\)/,
    );
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
    const subject = /\((user:[0-9a-f-]{36});/.exec(login.output())![1];

    const whoami = await run(['whoami'], { TOLLGATE_CREDENTIALS_FILE: credentials });
    expect(whoami.output).toContain(`subject  ${subject} (developer@tollgate.test)`);

    const allowed = await roundTrip('dev-echo', { TOLLGATE_CREDENTIALS_FILE: credentials });
    expect(allowed.data).toBe('hello through tollgate\n');
    const denied = await roundTrip('prod-echo', { TOLLGATE_CREDENTIALS_FILE: credentials });
    expect(denied.data).toBe('');
    expect(denied.log).toMatch(/denied.*no role grants connect on prod-echo/);

    // The auditor reads the log with the CLI.
    const auditor = await loginDevUser(httpUrl, 'auditor');
    const audit = await run(['audit', '--action', 'authorize:connect', '--subject', subject, '--json'], {
      TOLLGATE_TOKEN: auditor.access_token,
    });
    expect(audit.code).toBe(0);
    const lines = audit.output
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as AuditLine);
    // Newest first. `tollgate connect` checks access when it starts (GET .../access, from the HTTP
    // caller's address) and the session is decided again when it opens (from the session's address
    // and port): both are decisions, both are recorded.
    const [sessions, checks] = bySource(lines);
    expect(sessions).toEqual([
      expect.objectContaining({ subject, target: 'connection:prod-echo', decision: 'deny' }),
      expect.objectContaining({
        subject,
        target: 'connection:dev-echo',
        decision: 'allow',
        reason: 'allowed by role developers',
      }),
    ]);
    expect(checks.map((l) => [l.target, l.decision])).toEqual([
      ['connection:prod-echo', 'deny'],
      ['connection:dev-echo', 'allow'],
    ]);
    expect(sessions[1].payload.displayName).toBe('developer@tollgate.test');
    // People are named by e-mail, in the filter and in the output.
    const text = await run(
      ['audit', '--action', 'authorize:connect', '--subject', 'Developer@tollgate.test', '--since', '10m'],
      { TOLLGATE_TOKEN: auditor.access_token },
    );
    expect(text.output).toMatch(
      new RegExp(
        `\\d+ \\S+ DENY authorize:connect connection:prod-echo by developer@tollgate\\.test \\(${subject}\\): .*\n` +
          `\\d+ \\S+ ALLOW authorize:connect connection:dev-echo by developer@tollgate\\.test \\(${subject}\\): allowed by role developers\n`,
      ),
    );

    // An API key of the developer, narrowed to one connection, works until it is revoked.
    const key = await run(['api-keys', 'create', 'nightly', '--scope', 'connect:dev-echo'], {
      TOLLGATE_CREDENTIALS_FILE: credentials,
    });
    expect(key.code).toBe(0);
    const apiKey = key.output.trim().split('\n').at(-1)!;
    const prefix = /prefix (\w+)/.exec(key.output)![1];
    expect(apiKey.startsWith(`tgk_${prefix}_`)).toBe(true);
    expect((await roundTrip('dev-echo', { TOLLGATE_TOKEN: apiKey })).data).toBe('hello through tollgate\n');
    const revoked = await run(['api-keys', 'revoke', prefix], { TOLLGATE_CREDENTIALS_FILE: credentials });
    expect(revoked.output).toContain(`API key ${prefix} revoked`);
    const refused = await roundTrip('dev-echo', { TOLLGATE_TOKEN: apiKey });
    expect(refused.data).toBe('');
    expect(refused.log).toMatch(new RegExp(`API key ${prefix} has been revoked`));

    // Logging out ends the login at the gateway and forgets it here.
    const saved = JSON.parse(readFileSync(credentials, 'utf8')) as { accessToken: string };
    expect((await run(['logout'], { TOLLGATE_CREDENTIALS_FILE: credentials })).output).toContain(
      'Logged out.',
    );
    expect(existsSync(credentials)).toBe(false);
    const after = await run(['whoami'], { TOLLGATE_TOKEN: saved.accessToken });
    expect(after.code).toBe(1);
    expect(after.output).toContain('tollgate whoami: invalid token: the token has been revoked');
  });

  it('a headless machine logs in with `tollgate login --device` (code entered in a browser elsewhere)', async () => {
    const credentials = join(dir.path, 'dba.json');
    const login = spawnCli(['login', '--device'], { ...env(), TOLLGATE_CREDENTIALS_FILE: credentials });
    processes.push(login);
    const url = (await login.waitFor(/\(or open (http:\/\/\S+)\)/))[1];
    expect(login.output()).toMatch(/open http:\/\/\S+\/device and enter the code \S+/);
    const done = await completeBrowserLogin(url, 'dba', 'dba-demo');
    expect(done.pathname).toMatch(/^\/device/);
    expect(await login.exited()).toBe(0);
    expect(login.output()).toMatch(/Logged in to .* as dba@tollgate\.test \(user:\S+; groups: dba\)/);
    expect(statSync(credentials).mode & 0o777).toBe(0o600);
  });

  it('a service account exchanges its token for a narrower child; the child connects; the audit names both in order', async () => {
    const secrets: Record<string, string> = {};
    for (const name of ['ci', 'ci-step']) {
      const created = spawnCli(['admin', 'service-accounts', 'create', name, '--group', 'developers'], {
        ...env(),
        TOLLGATE_TOKEN: adminToken,
      });
      processes.push(created);
      expect(await created.exited()).toBe(0);
      expect(created.output()).toContain(`service account sa:${name} created; client id "${name}"`);
      secrets[name] = created.output().trim().split('\n').at(-1)!;
    }
    const listed = await run(['admin', 'service-accounts', 'list'], { TOLLGATE_TOKEN: adminToken });
    expect(listed.output).toMatch(/ci-step\s+sa:ci-step\s+developers\s+enabled/);
    const credentials = join(dir.path, 'ci.json');
    const login = await run(['login', '--client-id', 'ci'], {
      TOLLGATE_CLIENT_SECRET: secrets.ci,
      TOLLGATE_CREDENTIALS_FILE: credentials,
    });
    expect(login.code).toBe(0);
    expect(login.output).toContain('as ci (sa:ci; groups: developers)');
    const step = await run(['login', '--client-id', 'ci-step'], {
      TOLLGATE_CLIENT_SECRET: secrets['ci-step'],
      TOLLGATE_CREDENTIALS_FILE: join(dir.path, 'ci-step.json'),
    });
    expect(step.code).toBe(0);
    const stepToken = (
      await run(['token', 'print'], { TOLLGATE_CREDENTIALS_FILE: join(dir.path, 'ci-step.json') })
    ).output.trim();

    const exchanged = await run(
      ['token', 'exchange', '--scope', 'connect:dev-echo', '--actor-token', stepToken],
      {
        TOLLGATE_CREDENTIALS_FILE: credentials,
      },
    );
    expect(exchanged.code, exchanged.output).toBe(0);
    const child = exchanged.output.trim();

    const whoami = await run(['whoami'], { TOLLGATE_TOKEN: child });
    expect(whoami.output).toContain('scope    connect:dev-echo');
    expect(whoami.output).toContain('may      use 1 connection (tollgate ls lists them)\n');
    expect(whoami.output).toContain('actors   sa:ci-step');

    const widened = await run(['token', 'exchange', '--scope', 'connect'], { TOLLGATE_TOKEN: child });
    expect(widened.code).toBe(1);
    expect(widened.output).toMatch(/tollgate token exchange: requested scope widens/);

    const allowed = await roundTrip('dev-echo', { TOLLGATE_TOKEN: child });
    expect(allowed.data).toBe('hello through tollgate\n');

    const audit = await api('GET', '/api/v1/audit?action=authorize:connect&subject=sa:ci');
    const [sessions, checks] = bySource(audit.body.items);
    expect(checks).toEqual([
      expect.objectContaining({ actorChain: [{ subject: 'sa:ci-step' }], decision: 'allow' }),
    ]);
    expect(sessions).toEqual([
      expect.objectContaining({
        subject: 'sa:ci',
        actorChain: [{ subject: 'sa:ci-step' }],
        target: 'connection:dev-echo',
        decision: 'allow',
      }),
    ]);
  });
});
