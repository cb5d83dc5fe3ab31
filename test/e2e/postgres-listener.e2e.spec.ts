import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createMachinePostgresConnection,
  createTcpConnection,
  createTestDatabase,
  loginDevUser,
  makeCertificate,
  makeTempDir,
  MACHINE_POSTGRES,
  spawnAgent,
  spawnCli,
  startTunnelGateway,
  type CliProcess,
  type TestCertificate,
  type TunnelGateway,
} from '@tollgate/testing';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
  - name: developers
    subjects: ['group:developers']
    connections: [pg-app]
    verbs: [connect, exec]
guardrails:
  - name: no-drop
    match: {protocol: postgres}
    deny: {statements: [DROP], message: dropping tables is not allowed here}
masking:
  - name: pii
    match: {connections: [pg-app]}
    columns: [customers.ssn]
`;

interface ClientRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a PostgreSQL client program (psql, pgbench) with its arguments and environment. */
function run(
  program: string,
  args: readonly string[],
  env: Record<string, string>,
  input = '',
): Promise<ClientRun> {
  return new Promise((resolve) => {
    const child = spawn(program, args, {
      env: { ...process.env, PGCONNECT_TIMEOUT: '20', PGSSLMODE: 'prefer', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

/**
 * The gateway's own PostgreSQL listener: psql, pgbench and node-postgres reach a connection with no
 * Tollgate binary beside them, the database name choosing the connection and a Tollgate credential
 * as the password; one gateway (TLS on the listener) and one agent in front of the machine's
 * PostgreSQL.
 */
describe('PostgreSQL straight to the gateway listener', () => {
  let gateway: TunnelGateway;
  let cert: TestCertificate;
  let host: string;
  let port: number;
  let developerToken: string;
  let apiKey: string;
  let dbName: string;
  let storeUrl: string;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];

  const psql = (
    user: string,
    database: string,
    password: string,
    args: string[],
    env: Record<string, string> = {},
  ) =>
    run('psql', ['-h', host, '-p', String(port), '-U', user, '-d', database, '-X', '-At', ...args], {
      PGPASSWORD: password,
      ...env,
    });

  const auditRecords = (action: string) => gateway.auditRecords(action, { order: 'desc' });

  beforeAll(async () => {
    const temp = makeTempDir('tollgate-listener-');
    cleanups.push(() => temp.remove());
    cert = makeCertificate(temp.path, 'listener');
    const target = await createTestDatabase();
    cleanups.push(target.drop);
    dbName = target.name;
    const admin = new Client({ ...MACHINE_POSTGRES, database: target.name });
    await admin.connect();
    await admin.query(
      `CREATE TABLE customers (id int PRIMARY KEY, email text, ssn text);
       INSERT INTO customers VALUES (1, 'ada@example.com', '123-45-6789'), (2, 'bob@example.org', '234-56-7890');
       CREATE TABLE scratch (id int);`,
    );
    await admin.end();
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    storeUrl = store.url;
    gateway = await startTunnelGateway(
      [
        '--dev-idp',
        '--dev-idp-port',
        '0',
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
    host = address[1]!;
    port = Number(address[2]);
    expect(gateway.cli.output()).toContain(`"listenerFingerprint":"${cert.fingerprint}"`);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-pg');
    for (const name of ['pg-app', 'pg-admin']) {
      await createMachinePostgresConnection(gateway, name, target.name, ['edge-pg'], 'env:APP_DB_PASSWORD');
    }
    await createTcpConnection(gateway, 'echo', 9, ['edge-pg']);
    processes.push(
      await spawnAgent(gateway.grpcUrl, agentToken, { env: { APP_DB_PASSWORD: 'unused-with-trust' } }),
    );
    developerToken = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
    const key = await fetch(`${gateway.httpUrl}/api/v1/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${developerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bi-tool' }),
    });
    expect(key.status).toBe(201);
    apiKey = ((await key.json()) as { key: string }).key;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('lets psql in over TLS with an access token as the password; policy and masking apply', async () => {
    const result = await psql(
      'developer@tollgate.test',
      'pg-app',
      developerToken,
      [
        '-c',
        'select ssl from pg_stat_ssl where pid = pg_backend_pid()',
        '-c',
        'select id, ssn from customers order by id',
        '-c',
        'drop table scratch',
      ],
      { PGSSLMODE: 'verify-full', PGSSLROOTCERT: cert.certFile, PGHOST: 'localhost' },
    );
    // pg_stat_ssl is the target's view (agent to PostgreSQL in plain text); the listener's TLS is
    // what verify-full checked against the listener's certificate.
    expect(result.stdout).toBe('f\n1|********\n2|********\n');
    expect(result.stderr).toContain('dropping tables is not allowed here');
  });

  it('takes an API key as the password, and the subject or the email as the user name', async () => {
    for (const user of ['developer@tollgate.test', 'DEVELOPER@tollgate.test']) {
      const result = await psql(user, 'pg-app', apiKey, ['-c', 'select count(*) from customers']);
      expect(result).toMatchObject({ code: 0, stdout: '2\n' });
    }
  });

  it('serves node-postgres with TLS pinned to the listener certificate', async () => {
    const client = new Client({
      host: 'localhost',
      port,
      user: 'developer@tollgate.test',
      database: 'pg-app',
      password: developerToken,
      ssl: { ca: readFileSync(cert.certFile) },
    });
    await client.connect();
    const rows = await client.query<{ email: string }>('select email from customers where id = $1', [1]);
    expect(rows.rows).toEqual([{ email: 'ada@example.com' }]);
    await client.end();
  });

  it('accepts plain text from loopback (sslmode=disable)', async () => {
    const result = await psql('developer@tollgate.test', 'pg-app', developerToken, ['-c', 'select 41 + 1'], {
      PGSSLMODE: 'disable',
    });
    expect(result).toMatchObject({ code: 0, stdout: '42\n' });
  });

  it('runs pgbench through the listener', async () => {
    const admin = new Client({ ...MACHINE_POSTGRES, database: dbName });
    await admin.connect();
    await admin.query(
      'CREATE TABLE IF NOT EXISTS bench (id int PRIMARY KEY, n int); INSERT INTO bench VALUES (1, 0) ON CONFLICT DO NOTHING',
    );
    await admin.end();
    const result = await run(
      'pgbench',
      [
        '-h',
        host,
        '-p',
        String(port),
        '-U',
        'developer@tollgate.test',
        '-n',
        '-c',
        '2',
        '-t',
        '10',
        '-f',
        '-',
        'pg-app',
      ],
      { PGPASSWORD: developerToken },
      // pgbench -f - reads the script from stdin.
      'UPDATE bench SET n = n + 1 WHERE id = 1;\nSELECT n FROM bench WHERE id = 1;\n',
    );
    expect(result.stderr + result.stdout).toContain('number of transactions actually processed: 20/20');
  });

  /** How node-postgres reports a refused login: severity, SQLSTATE and message. */
  const refusal = async (user: string, database: string, password: string) => {
    const client = new Client({ host: '127.0.0.1', port, user, database, password });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      const { severity, code, message } = error as { severity?: string; code?: string; message: string };
      return { severity, code, message };
    } finally {
      await client.end().catch(() => undefined);
    }
    return { severity: 'none', code: 'connected', message: '' };
  };

  it('refuses in PostgreSQL terms: bad credential 28P01, wrong user 28000, unknown database 3D000, denied 28000', async () => {
    const psqlRefused = await psql('developer@tollgate.test', 'pg-app', 'not-a-token', ['-c', 'select 1']);
    expect(psqlRefused.code).toBe(2);
    expect(psqlRefused.stderr).toContain('FATAL:  tollgate: invalid token: malformed token');

    expect(await refusal('developer@tollgate.test', 'pg-app', `${apiKey}x`)).toEqual({
      severity: 'FATAL',
      code: '28P01',
      message: 'tollgate: invalid token: unknown API key',
    });
    expect(await refusal('dba@tollgate.test', 'pg-app', developerToken)).toEqual({
      severity: 'FATAL',
      code: '28000',
      message: 'tollgate: the user name "dba@tollgate.test" does not name the owner of this credential',
    });
    expect(await refusal('developer@tollgate.test', 'pg-nope', developerToken)).toEqual({
      severity: 'FATAL',
      code: '3D000',
      message: 'tollgate: no connection named "pg-nope"',
    });
    expect(await refusal('developer@tollgate.test', 'echo', developerToken)).toMatchObject({
      code: '3D000',
      message: 'tollgate: "echo" is a tcp connection, not postgres',
    });
    const denied = await refusal('developer@tollgate.test', 'pg-admin', developerToken);
    expect(denied).toMatchObject({ severity: 'FATAL', code: '28000' });
    expect(denied.message).toContain('pg-admin');

    const refusedLogins = (await auditRecords('authenticate'))
      .filter((r) => r.decision === 'deny')
      .map((r) => r.reason);
    expect(refusedLogins).toEqual(
      expect.arrayContaining([
        'malformed token',
        'unknown API key',
        'the user name "dba@tollgate.test" does not name the owner of this credential',
      ]),
    );
    const deniedOpens = (await auditRecords('authorize:connect')).filter(
      (r) => r.decision === 'deny' && r.reason.includes('pg-admin'),
    );
    expect(deniedOpens).toHaveLength(1);
  });

  /** `tollgate credentials ...` as the developer; resolves with stdout (and fails on a non-zero exit). */
  const credentials = async (...args: string[]) => {
    const cli = spawnCli(['credentials', ...args], {
      TOLLGATE_TOKEN: developerToken,
      TOLLGATE_URL: gateway.httpUrl,
    });
    const code = await cli.exited();
    expect(code, cli.output()).toBe(0);
    return cli.output();
  };

  it('takes a connection credential: one connection, one user, revocable, expiring (its open sessions end); refusals audited', async () => {
    const created = await credentials('create', 'pg-app', '--ttl', '1h');
    const secret = /^(tgk_\S+)$/m.exec(created)?.[1] ?? '';
    const prefix = secret.split('_')[1] ?? '';
    expect(created).toContain(`credential ${prefix} for "pg-app"`);

    const used = await psql('developer@tollgate.test', 'pg-app', secret, [
      '-c',
      'select count(*) from customers',
    ]);
    expect(used).toMatchObject({ code: 0, stdout: '2\n' });

    // Another connection (the developer may reach pg-admin's neighbour, not through this credential).
    const otherConnection = await refusal('developer@tollgate.test', 'pg-admin', secret);
    expect(otherConnection).toMatchObject({ severity: 'FATAL', code: '28000' });
    expect(otherConnection.message).toContain('does not include connect on connection "pg-admin"');
    // Another user name.
    expect(await refusal('dba@tollgate.test', 'pg-app', secret)).toMatchObject({ code: '28000' });

    await credentials('revoke', prefix);
    expect(await refusal('developer@tollgate.test', 'pg-app', secret)).toEqual({
      severity: 'FATAL',
      code: '28P01',
      message: `tollgate: invalid token: API key ${prefix} has been revoked`,
    });

    // A second credential, made to have expired (in the store, instead of waiting an hour).
    const expiring = /^(tgk_\S+)$/m.exec(await credentials('create', 'pg-app', '--ttl', '15m'))?.[1] ?? '';
    const expiringPrefix = expiring.split('_')[1] ?? '';
    // A session opened with it while it stood (a BI tool's pooled connection) ends when it expires.
    const live = new Client({
      host: '127.0.0.1',
      port,
      user: 'developer@tollgate.test',
      database: 'pg-app',
      password: expiring,
    });
    const ended = new Promise<{ code?: string; message: string }>((resolve) => live.on('error', resolve));
    await live.connect();
    expect((await live.query('select count(*)::int as n from customers')).rows).toEqual([{ n: 2 }]);
    const store = new Client({ connectionString: storeUrl });
    await store.connect();
    await store.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1", [
      expiringPrefix,
    ]);
    await store.end();
    const why = await ended;
    expect(why.code).toBe('28000');
    expect(why.message).toContain(`the API key this session was opened with (${expiringPrefix}) expired`);
    await live.end().catch(() => undefined);
    expect(await refusal('developer@tollgate.test', 'pg-app', expiring)).toMatchObject({
      code: '28P01',
      message: `tollgate: invalid token: API key ${expiringPrefix} has expired`,
    });

    const listed = await credentials('list');
    expect(listed).toMatch(new RegExp(`${prefix}\\s+pg-app\\s+user:\\S+\\s+\\S+\\s+revoked`));
    expect(listed).toMatch(new RegExp(`${expiringPrefix}\\s+pg-app\\s+user:\\S+\\s+\\S+\\s+expired`));

    const refused = (await auditRecords('authenticate'))
      .filter((r) => r.decision === 'deny')
      .map((r) => r.reason);
    expect(refused).toEqual(
      expect.arrayContaining([`API key ${prefix} has been revoked`, `API key ${expiringPrefix} has expired`]),
    );
    const scoped = (await auditRecords('authorize:connect')).filter(
      (r) => r.decision === 'deny' && r.reason.includes('does not include connect on connection "pg-admin"'),
    );
    expect(scoped).toHaveLength(1);
  });

  it('ends a killed session in PostgreSQL terms (57P01), as it ends a `tollgate connect` session', async () => {
    const client = new Client({
      host: '127.0.0.1',
      port,
      user: 'developer@tollgate.test',
      database: 'pg-app',
      password: developerToken,
    });
    client.on('error', () => undefined);
    await client.connect();
    const running = client.query('select pg_sleep(30)').then(
      () => ({ code: 'finished', message: '' }),
      (error: unknown) => error as { code?: string; message: string },
    );
    let open: { id: string }[] = [];
    for (let tries = 0; open.length === 0 && tries < 50; tries++) {
      open = (await gateway.api<{ items: { id: string }[] }>('GET', '/api/v1/sessions?state=open')).body
        .items;
      if (open.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(open).toHaveLength(1);
    expect((await gateway.api('POST', `/api/v1/sessions/${open[0].id}/kill`)).status).toBe(202);
    const ended = await running;
    expect(ended.code).toBe('57P01');
    expect(ended.message).toContain('tollgate: session ended: killed by sa:bootstrap-admin');
    await client.end().catch(() => undefined);
  });

  /** The sessions the gateway lists as open. */
  const openSessions = async () =>
    (await gateway.api<{ items: { id: string; subject: string }[] }>('GET', '/api/v1/sessions?state=open'))
      .body.items;
  /** How many backends of the target run a statement containing `text` right now. */
  const runningAtTarget = async (text: string): Promise<number> => {
    const admin = new Client({ ...MACHINE_POSTGRES, database: dbName });
    await admin.connect();
    try {
      const { rows } = await admin.query<{ n: string }>(
        "select count(*) as n from pg_stat_activity where state = 'active' and query like $1 and pid <> pg_backend_pid()",
        [`%${text}%`],
      );
      return Number(rows[0]?.n);
    } finally {
      await admin.end();
    }
  };
  const waitUntilRunning = (text: string) =>
    expect.poll(() => runningAtTarget(text), { timeout: 20_000 }).toBe(1);
  const waitUntilStopped = (text: string) =>
    expect.poll(() => runningAtTarget(text), { timeout: 10_000 }).toBe(0);

  /**
   * Sends a CancelRequest to the listener as libpq does (on a connection of its own; with `tls`,
   * after an SSLRequest answered S, as libpq 17 does on an encrypted session) and resolves with
   * what the listener answered before it closed: PostgreSQL answers nothing, match or not.
   */
  const sendCancel = (key: { processId: number; secretKey: number }, tls = false): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const request = Buffer.alloc(16);
      request.writeInt32BE(16, 0);
      request.writeInt32BE(80877102, 4);
      request.writeInt32BE(key.processId, 8);
      request.writeInt32BE(key.secretKey, 12);
      const received: Buffer[] = [];
      const collect = (socket: Socket) => {
        socket.on('data', (chunk: Buffer) => received.push(chunk));
        socket.on('error', reject);
        socket.on('close', () => resolve(Buffer.concat(received)));
      };
      const raw = connectTcp({ host, port }, () => {
        if (!tls) {
          collect(raw);
          raw.write(request);
          return;
        }
        const sslRequest = Buffer.alloc(8);
        sslRequest.writeInt32BE(8, 0);
        sslRequest.writeInt32BE(80877103, 4);
        raw.write(sslRequest);
        raw.once('data', (answer: Buffer) => {
          if (answer.toString() !== 'S') return reject(new Error(`SSLRequest answered ${answer.toString()}`));
          const secure = connectTls(
            { socket: raw, ca: readFileSync(cert.certFile), servername: 'localhost' },
            () => secure.write(request),
          );
          collect(secure);
        });
      });
      raw.on('error', reject);
    });

  /** A node-postgres session through the listener running `sql`; its key is the one it was given. */
  const busySession = async (user: string, password: string, sql: string) => {
    const client = new Client({ host: '127.0.0.1', port, user, database: 'pg-app', password });
    client.on('error', () => undefined);
    await client.connect();
    const key = client as unknown as { processID: number; secretKey: number };
    const outcome = client.query(sql).then(
      () => ({ code: 'finished', message: '' }),
      (error: unknown) => error as { code?: string; message: string },
    );
    return { client, key: { processId: key.processID, secretKey: key.secretKey }, outcome };
  };

  it("cancels psql's statement on Ctrl+C (SIGINT): the target stops it and the audit says so", async () => {
    const child = spawn(
      'psql',
      [
        '-h',
        host,
        '-p',
        String(port),
        '-U',
        'developer@tollgate.test',
        '-d',
        'pg-app',
        '-X',
        '-At',
        '-c',
        'select pg_sleep(30) as ctrl_c_nap',
      ],
      { env: { ...process.env, PGPASSWORD: developerToken, PGSSLMODE: 'prefer', PGCONNECT_TIMEOUT: '20' } },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await waitUntilRunning('ctrl_c_nap');
    await expect.poll(async () => (await openSessions()).length, { timeout: 10_000 }).toBe(1);
    const [session] = await openSessions();
    child.kill('SIGINT');
    expect(await exited).toBe(1);
    expect(stderr).toContain('ERROR:  canceling statement due to user request');
    await waitUntilStopped('ctrl_c_nap');

    // Recorded on the session: the cancel (where it came from), and the statement's result says it
    // was cancelled and what the target said.
    const detailOf = async () =>
      (
        await gateway.api<{ events: { kind: string; event: Record<string, unknown> }[] }>(
          'GET',
          `/api/v1/sessions/${session.id}`,
        )
      ).body.events;
    await expect
      .poll(async () => (await detailOf()).map((e) => e.kind), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['session.cancel', 'command.result']));
    const events = await detailOf();
    const cancel = events.find((e) => e.kind === 'session.cancel')?.event;
    expect(cancel).toMatchObject({ type: 'session.cancel', sessionId: session.id });
    expect(String(cancel?.['source'])).toMatch(/^postgres listener 127\.0\.0\.1:\d+$/);
    const result = events.find((e) => e.kind === 'command.result')?.event;
    expect(result).toMatchObject({ command: 'select pg_sleep(30) as ctrl_c_nap' });
    expect(String(result?.['error'])).toMatch(
      /^cancelled \(CancelRequest from 127\.0\.0\.1:\d+\): the target said: canceling statement due to user request$/,
    );
    const records = await auditRecords('session.cancel');
    expect(
      records.some(
        (r) => (r as unknown as { payload: { sessionId?: string } }).payload.sessionId === session.id,
      ),
    ).toBe(true);
  });

  it("cancels only with the session's own key: a wrong key or another session's key does nothing, and the answer is the same", async () => {
    const adminToken = (await loginDevUser(gateway.httpUrl, 'admin')).access_token;
    const mine = await busySession(
      'developer@tollgate.test',
      developerToken,
      'select pg_sleep(30) as mine_nap',
    );
    const theirs = await busySession('admin@tollgate.test', adminToken, 'select pg_sleep(30) as theirs_nap');
    try {
      await waitUntilRunning('mine_nap');
      await waitUntilRunning('theirs_nap');
      // The key is Tollgate's own, never the target backend's.
      const backendPids = await (async () => {
        const admin = new Client({ ...MACHINE_POSTGRES, database: dbName });
        await admin.connect();
        const { rows } = await admin.query<{ pid: number }>(
          "select pid from pg_stat_activity where query like '%_nap%' and pid <> pg_backend_pid()",
        );
        await admin.end();
        return rows.map((r) => r.pid);
      })();
      expect(backendPids).not.toContain(mine.key.processId);
      expect(mine.key).not.toEqual(theirs.key);

      // Wrong secret, wrong process id, and the other user's pair mixed with mine: each is answered
      // as a match is (closed, not a byte), and nothing is cancelled.
      const wrong = [
        { processId: mine.key.processId, secretKey: mine.key.secretKey ^ 1 },
        { processId: mine.key.processId ^ 1, secretKey: mine.key.secretKey },
        { processId: mine.key.processId, secretKey: theirs.key.secretKey },
        { processId: theirs.key.processId, secretKey: mine.key.secretKey },
      ];
      for (const key of wrong) expect((await sendCancel(key)).length).toBe(0);
      expect((await sendCancel({ ...wrong[0] }, true)).length).toBe(0);

      // The other user cancels their own statement (over TLS this time): theirs stops, mine runs on.
      expect((await sendCancel(theirs.key, true)).length).toBe(0);
      expect(await theirs.outcome).toMatchObject({
        code: '57014',
        message: 'canceling statement due to user request',
      });
      await waitUntilStopped('theirs_nap');
      expect(await runningAtTarget('mine_nap')).toBe(1);

      // My own key, in plain text: mine stops, and the session goes on.
      expect((await sendCancel(mine.key)).length).toBe(0);
      expect(await mine.outcome).toMatchObject({ code: '57014' });
      await waitUntilStopped('mine_nap');
      expect((await mine.client.query<{ n: number }>('select 41 + 1 as n')).rows).toEqual([{ n: 42 }]);
    } finally {
      await mine.client.end().catch(() => undefined);
      await theirs.client.end().catch(() => undefined);
    }
  });
});
