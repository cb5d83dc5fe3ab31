import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createConnection, type Connection } from 'mysql2/promise';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createMariadbDatabase,
  createTcpConnection,
  createTestDatabase,
  loginDevUser,
  heldUpdateOnMariadbTerminal,
  makeCertificate,
  makeTempDir,
  mariadbRoot,
  spawnAgent,
  spawnCli,
  startTunnelGateway,
  type CliProcess,
  type MariadbTestDatabase,
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
    connections: [my-app]
    verbs: [connect, exec]
guardrails:
  - name: no-drop
    match: {protocol: mysql}
    deny: {statements: [DROP], message: dropping tables is not allowed here}
  - name: updates-need-approval
    match: {connections: [my-app]}
    require_approval: {statements: [UPDATE], approvers: ['group:tollgate-admins'], timeout: 2m, message: updates need an admin}
masking:
  - name: pii
    match: {connections: [my-app]}
    columns: [customers.ssn]
`;

const USER = 'developer@tollgate.test';

interface ClientRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The gateway's own MySQL listener: the mariadb CLI and mysql2 reach a connection with no Tollgate
 * binary beside them, the database name choosing the connection and a Tollgate credential as the
 * password (sent with mysql_clear_password); one gateway (TLS on the listener) and one agent in
 * front of the machine's MariaDB, where the agent logs in as an ed25519 user.
 */
describe('MySQL straight to the gateway listener', () => {
  let db: MariadbTestDatabase;
  let gateway: TunnelGateway;
  let cert: TestCertificate;
  let port: number;
  let developerToken: string;
  let apiKey: string;
  let storeUrl: string;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];

  /** The mariadb CLI on the listener; `-p` is the credential, `options` TLS and plugin choices. */
  const mariadb = (
    sql: string,
    { user = USER, database = 'my-app', password = developerToken, options = [] as string[] } = {},
  ) =>
    new Promise<ClientRun>((resolve) => {
      const child = execFile(
        'mariadb',
        [
          '-h',
          '127.0.0.1',
          '-P',
          String(port),
          '-u',
          user,
          `-p${password}`,
          ...(database ? ['-D', database] : []),
          '-N',
          '-B',
          '--force',
          ...options,
        ],
        { timeout: 30_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(sql);
    });

  const mysql2 = (password: string, database = 'my-app', user = USER) =>
    createConnection({
      host: '127.0.0.1',
      port,
      user,
      password,
      database,
      enableCleartextPlugin: true,
    });

  /** A session's audit events, as `tollgate sessions show` reads them. */
  const sessionEvents = async (sessionId: string) =>
    (
      await gateway.api<{ events: { kind: string; event: Record<string, unknown> }[] }>(
        'GET',
        `/api/v1/sessions/${sessionId}`,
      )
    ).body.events;

  /** How mysql2 reports a refused login: error number, SQLSTATE and message. */
  const refusal = async (password: string, database = 'my-app', user = USER) => {
    let connection: Connection | undefined;
    try {
      connection = await mysql2(password, database, user);
    } catch (error) {
      const { errno, sqlState, message } = error as { errno?: number; sqlState?: string; message: string };
      return { errno, sqlState, message };
    } finally {
      await connection?.end().catch(() => undefined);
    }
    return { errno: 0, sqlState: 'connected', message: '' };
  };

  const auditRecords = (action: string) => gateway.auditRecords(action, { order: 'desc' });

  beforeAll(async () => {
    const temp = makeTempDir('tollgate-mysql-listener-');
    cleanups.push(() => temp.remove());
    cert = makeCertificate(temp.path, 'listener');
    db = createMariadbDatabase();
    cleanups.push(() => db.drop());
    db.sql(
      `CREATE TABLE customers (id int PRIMARY KEY, email varchar(80), ssn varchar(20));
       INSERT INTO customers VALUES (1, 'ada@example.com', '123-45-6789'), (2, 'bob@example.org', '234-56-7890');
       CREATE TABLE scratch (id int);`,
    );
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    storeUrl = store.url;
    gateway = await startTunnelGateway(
      [
        '--dev-idp',
        '--dev-idp-port',
        '0',
        '--mysql-port',
        '0',
        '--tls-cert',
        cert.certFile,
        '--tls-key',
        cert.keyFile,
      ],
      { DATABASE_URL: store.url },
    );
    processes.push(gateway.cli);
    const address = /"mysqlAddress":"[^"]+:(\d+)"/.exec(gateway.cli.output());
    if (!address) throw new Error(`no mysqlAddress in the gateway log:\n${gateway.cli.output()}`);
    port = Number(address[1]);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-my');
    for (const name of ['my-app', 'my-admin']) {
      const created = await gateway.api('POST', '/api/v1/connections', {
        name,
        protocol: 'mysql',
        target: {
          host: '127.0.0.1',
          port: 3306,
          database: db.name,
          username: db.users.ed25519,
          tls: { mode: 'disable' },
        },
        credential: { password: 'env:MY_DB_PASSWORD' },
        agents: ['edge-my'],
      });
      expect(created.status).toBe(201);
    }
    await createTcpConnection(gateway, 'echo', 9, ['edge-my']);
    processes.push(await spawnAgent(gateway.grpcUrl, agentToken, { env: { MY_DB_PASSWORD: db.password } }));
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

  it('lets the mariadb CLI in over verified TLS with an access token; policy and masking apply', async () => {
    const result = await mariadb(
      'SELECT CURRENT_USER(), DATABASE();\nDROP TABLE scratch;\nSELECT id, ssn FROM customers ORDER BY id;\n',
      {
        options: ['--ssl-ca', cert.certFile, '--ssl-verify-server-cert', '-h', 'localhost'],
      },
    );
    // The mariadb CLI (libmariadb) sends a password with mysql_clear_password without being told to;
    // the listener's TLS is what --ssl-verify-server-cert checked against the listener's certificate.
    expect(result.stdout).toBe(`${db.users.ed25519}@%\t${db.name}\n1\t********\n2\t********\n`);
    expect(result.stderr).toMatch(
      /ERROR 1142 \(42000\) at line 2: tollgate: dropping tables is not allowed here/,
    );
    expect(db.sql("SHOW TABLES LIKE 'scratch'").trim()).toBe('scratch');
  });

  it("holds an UPDATE for review and says so on the mariadb CLI's terminal, over TLS, then runs it once approved", async () => {
    await heldUpdateOnMariadbTerminal(
      db,
      `mariadb -h localhost --protocol=tcp -P ${port} -u ${USER} -p${developerToken} -D my-app --ssl-ca ${cert.certFile} --ssl-verify-server-cert`,
      /Stage: 1 of 1 'tollgate: updates need an admin\. Waiting for approval by group:tollgate-admins: review [0-9a-f-]{36}/,
      async (review) => {
        const admin = (await loginDevUser(gateway.httpUrl, 'admin')).access_token;
        const approve = spawnCli(['reviews', 'approve', review], {
          TOLLGATE_TOKEN: admin,
          TOLLGATE_URL: gateway.httpUrl,
        });
        expect(await approve.exited()).toBe(0);
      },
    );
  });

  it('serves mysql2 (query and execute) with an API key over TLS pinned to the listener certificate', async () => {
    const connection = await createConnection({
      host: 'localhost',
      port,
      user: USER,
      password: apiKey,
      database: 'my-app',
      enableCleartextPlugin: true,
      ssl: { ca: readFileSync(cert.certFile) },
    });
    try {
      const [queried] = await connection.query('SELECT email, ssn FROM customers WHERE id = 1');
      expect(queried).toEqual([{ email: 'ada@example.com', ssn: '********' }]);
      const [executed] = await connection.execute('SELECT id, ssn FROM customers WHERE id = ?', [2]);
      expect(executed).toEqual([{ id: 2, ssn: '********' }]);
    } finally {
      await connection.end();
    }
  });

  it("records a client's goodbye (mysql2's COM_QUIT over plain text) as a normal close, not a reset", async () => {
    const connection = await mysql2(apiKey);
    const [rows] = await connection.query('SELECT 6 * 7 AS answer');
    expect(rows).toEqual([{ answer: 42 }]);
    await connection.end();
    // The engine answers COM_QUIT by ending the session while the client's FIN is on its way; the
    // listener then failed to reset the socket it had just ended and recorded "client reset: EINVAL".
    const latest = await gateway.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/sessions?connection=my-app&limit=1',
    );
    const close = async () =>
      (await sessionEvents(latest.body.items[0]?.id ?? '')).find((e) => e.kind === 'session.close')?.event;
    await expect.poll(close, { timeout: 15_000 }).toMatchObject({ reason: 'normal' });
  });

  it("records each short session's close after its commands and results, as they happened", async () => {
    const statements = (i: number) => [`SELECT ${i} AS a`, `SELECT ${i} + 1 AS b`, `SELECT ${i} + 2 AS c`];
    for (let i = 0; i < 4; i++) {
      const connection = await mysql2(apiKey);
      for (const sql of statements(i)) await connection.query(sql);
      await connection.end();
    }
    const latest = await gateway.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/sessions?connection=my-app&limit=4',
    );
    expect(latest.body.items).toHaveLength(4);
    // Newest first: the last session ran statements(3). The agent ships a session's journal records a
    // little after the session ends; its close was stored ahead of them, mid-chain.
    for (const [n, session] of latest.body.items.entries()) {
      const chain = async () =>
        (await sessionEvents(session.id)).map((e) =>
          e.kind === 'command' || e.kind === 'command.result'
            ? `${e.kind} ${String(e.event.command)}`
            : e.kind,
        );
      await expect
        .poll(chain, { timeout: 15_000 })
        .toEqual([
          'session.open',
          ...statements(3 - n).flatMap((sql) => [`command ${sql}`, `command.result ${sql}`]),
          'session.close',
        ]);
    }
  });

  it('accepts plain text from loopback, with the client choosing mysql_clear_password itself', async () => {
    const result = await mariadb('SELECT 41 + 1;\n', {
      options: ['--skip-ssl', '--default-auth=mysql_clear_password'],
    });
    expect(result).toMatchObject({ code: 0, stdout: '42\n' });
  });

  it('refuses in MySQL terms: bad credential and wrong user 1045, unknown connection 1049, no database 1046', async () => {
    const cli = await mariadb('SELECT 1;\n', { password: 'not-a-token' });
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain('ERROR 1045 (28000): tollgate: invalid token: malformed token');

    expect(await refusal(`${apiKey}x`)).toEqual({
      errno: 1045,
      sqlState: '28000',
      message: 'tollgate: invalid token: unknown API key',
    });
    expect(await refusal(developerToken, 'my-app', 'dba@tollgate.test')).toEqual({
      errno: 1045,
      sqlState: '28000',
      message: 'tollgate: the user name "dba@tollgate.test" does not name the owner of this credential',
    });
    expect(await refusal(developerToken, 'my-nope')).toEqual({
      errno: 1049,
      sqlState: '42000',
      message: 'tollgate: no connection named "my-nope"',
    });
    expect(await refusal(developerToken, 'echo')).toMatchObject({
      errno: 1049,
      message: 'tollgate: "echo" is a tcp connection, not mysql',
    });
    const denied = await refusal(developerToken, 'my-admin');
    expect(denied).toMatchObject({ errno: 1045, sqlState: '28000' });
    expect(denied.message).toContain('my-admin');
    // Logged in without a database (the mariadb CLI's Ctrl+C connects so, for KILL QUERY): any
    // statement but a KILL is answered 1046.
    const noDatabase = await mariadb('SELECT 1;\n', { database: '' });
    expect(noDatabase.stderr).toContain('ERROR 1046 (3D000) at line 1: tollgate: no database selected');
    // mysql2 sends a password in clear only when told to (enableCleartextPlugin).
    const withoutPlugin = await createConnection({
      host: '127.0.0.1',
      port,
      user: USER,
      password: developerToken,
      database: 'my-app',
    }).catch((error: { code?: string }) => error);
    expect(withoutPlugin).toMatchObject({ code: 'MYSQL_CLEAR_PASSWORD_NOT_ENABLED' });

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
      (r) => r.decision === 'deny' && r.reason.includes('my-admin'),
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

  it('takes a connection credential: that connection only, revocable, expiring', async () => {
    const created = await credentials('create', 'my-app', '--ttl', '1h');
    const secret = /^(tgk_\S+)$/m.exec(created)?.[1] ?? '';
    const prefix = secret.split('_')[1] ?? '';
    const used = await mariadb('SELECT COUNT(*) FROM customers;\n', { password: secret });
    expect(used).toMatchObject({ code: 0, stdout: '2\n' });

    const otherConnection = await refusal(secret, 'my-admin');
    expect(otherConnection).toMatchObject({ errno: 1045, sqlState: '28000' });
    expect(otherConnection.message).toContain('does not include connect on connection "my-admin"');

    await credentials('revoke', prefix);
    expect(await refusal(secret)).toEqual({
      errno: 1045,
      sqlState: '28000',
      message: `tollgate: invalid token: API key ${prefix} has been revoked`,
    });

    const expiring = /^(tgk_\S+)$/m.exec(await credentials('create', 'my-app', '--ttl', '15m'))?.[1] ?? '';
    const expiringPrefix = expiring.split('_')[1] ?? '';
    const store = new Client({ connectionString: storeUrl });
    await store.connect();
    await store.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE prefix = $1", [
      expiringPrefix,
    ]);
    await store.end();
    expect(await refusal(expiring)).toMatchObject({
      errno: 1045,
      message: `tollgate: invalid token: API key ${expiringPrefix} has expired`,
    });
    const refused = (await auditRecords('authenticate'))
      .filter((r) => r.decision === 'deny')
      .map((r) => r.reason);
    expect(refused).toEqual(
      expect.arrayContaining([`API key ${prefix} has been revoked`, `API key ${expiringPrefix} has expired`]),
    );
  });

  it('stops the running statement on the server when an admin kills the session', async () => {
    // Over TLS, as the banner's command connects.
    const running = mariadb('SELECT SLEEP(30) AS listener_nap;\n', {
      options: ['--ssl', '--skip-ssl-verify-server-cert'],
    });
    const find = () =>
      mariadbRoot(
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(30) AS listener_nap%'",
      ).trim();
    await expect.poll(find, { timeout: 15_000 }).toBe('1');
    const list = await gateway.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/sessions?state=open&connection=my-app',
    );
    expect(list.body.items).toHaveLength(1);
    expect((await gateway.api('POST', `/api/v1/sessions/${list.body.items[0]?.id}/kill`)).status).toBe(202);
    const result = await running;
    // The statement's reply is the server's own for a killed connection, with why (it was a TLS
    // error, "unexpected eof while reading", before).
    expect(result.stderr).toMatch(
      /ERROR 1927 \(70100\) at line 1: tollgate: session ended: killed by sa:bootstrap-admin/,
    );
    await expect.poll(find, { timeout: 10_000 }).toBe('0');
  });

  /** How many server threads run a statement containing `text` (as root sees the process list). */
  const runningAtTarget = (text: string) =>
    Number(
      mariadbRoot(
        `SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%${text}%' AND info NOT LIKE '%processlist%'`,
      ).trim(),
    );
  const realThreadOf = (text: string) =>
    Number(
      mariadbRoot(
        `SELECT id FROM information_schema.processlist WHERE info LIKE '%${text}%' AND info NOT LIKE '%processlist%'`,
      ).trim(),
    );
  /** What a KILL through the listener answered: OK, or the error's number and message. */
  const kill = async (connection: Connection, sql: string) =>
    connection.query(sql).then(
      () => ({ errno: 0, message: 'OK' }),
      (error: unknown) => {
        const { errno, message } = error as { errno?: number; message: string };
        return { errno, message };
      },
    );

  it("stops the mariadb CLI's statement on Ctrl+C (its KILL QUERY on a new connection reaches this session's backend)", async () => {
    const child = spawn('mariadb', [
      '-h',
      '127.0.0.1',
      '-P',
      String(port),
      '-u',
      USER,
      `-p${developerToken}`,
      '-D',
      'my-app',
      '-N',
      '-B',
      '--skip-ssl',
      '-e',
      'SELECT SLEEP(30) AS ctrl_c_nap',
    ]);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    await expect.poll(() => runningAtTarget('ctrl_c_nap'), { timeout: 15_000 }).toBe(1);
    const open = await gateway.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/sessions?state=open&connection=my-app',
    );
    expect(open.body.items).toHaveLength(1);
    const sessionId = open.body.items[0].id;
    child.kill('SIGINT');
    await exited;
    expect(output).toContain('Query execution was interrupted');
    expect(runningAtTarget('ctrl_c_nap')).toBe(0);

    // Recorded on the session: the kill (from where), and the statement's result says why it failed.
    const events = () => sessionEvents(sessionId);
    await expect
      .poll(async () => (await events()).map((e) => e.kind), { timeout: 15_000 })
      .toEqual(expect.arrayContaining(['session.cancel', 'command.result']));
    const recorded = await events();
    expect(String(recorded.find((e) => e.kind === 'session.cancel')?.event['source'])).toMatch(
      /^mysql listener 127\.0\.0\.1:\d+$/,
    );
    expect(String(recorded.find((e) => e.kind === 'command.result')?.event['error'])).toMatch(
      /^cancelled \(KILL QUERY from 127\.0\.0\.1:\d+\): the target said: 1317 \(70100\): Query execution was interrupted$/,
    );
  });

  it('lets KILL QUERY stop only a session of the same user, by the id Tollgate greeted it with or its server thread id', async () => {
    const adminToken = (await loginDevUser(gateway.httpUrl, 'admin')).access_token;
    const mine = await mysql2(developerToken);
    const mySecond = await mysql2(developerToken);
    const theirs = await mysql2(adminToken, 'my-app', 'admin@tollgate.test');
    try {
      const sleeping = mine.query('SELECT SLEEP(30) AS guarded_nap').then(
        ([rows]) => ({ errno: 0, rows }),
        (error: unknown) => ({ errno: (error as { errno?: number }).errno }),
      );
      await expect.poll(() => runningAtTarget('guarded_nap'), { timeout: 15_000 }).toBe(1);
      const greeted = mine.threadId;
      const real = realThreadOf('guarded_nap');
      expect(greeted).not.toBe(real);

      // Another user: neither the id Tollgate greeted my session with, nor the server's own thread
      // id (read from the process list), stops it; both read as ids the server does not know.
      expect(await kill(theirs, `KILL QUERY ${greeted}`)).toEqual({
        errno: 1094,
        message: `Unknown thread id: ${greeted}`,
      });
      expect(await kill(theirs, `KILL QUERY ${real}`)).toEqual({
        errno: 1094,
        message: `Unknown thread id: ${real}`,
      });
      expect(await kill(theirs, `KILL ${real}`)).toEqual({
        errno: 1094,
        message: `Unknown thread id: ${real}`,
      });
      // Nor as mariadb's Ctrl-C does it (a login without a database), nor hidden among statements.
      const theirsBare = await mysql2(adminToken, '', 'admin@tollgate.test');
      try {
        expect(await kill(theirsBare, `KILL QUERY ${greeted}`)).toEqual({
          errno: 1094,
          message: `Unknown thread id: ${greeted}`,
        });
        expect(await kill(theirsBare, 'SELECT 1')).toMatchObject({ errno: 1046 });
      } finally {
        await theirsBare.end().catch(() => undefined);
      }
      // The owner's credential narrowed to another connection (a BI tool's connection credential)
      // does not stop the owner's work on this one either.
      const created = await fetch(`${gateway.httpUrl}/api/v1/api-keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${developerToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'narrowed-kill', scope: 'connect:my-admin', expiresInSeconds: 600 }),
      });
      expect(created.status).toBe(201);
      const narrowed = await mysql2(((await created.json()) as { key: string }).key, '');
      try {
        expect(await kill(narrowed, `KILL QUERY ${greeted}`)).toEqual({
          errno: 1094,
          message: `Unknown thread id: ${greeted}`,
        });
      } finally {
        await narrowed.end().catch(() => undefined);
      }
      expect(await kill(theirs, `SELECT 1; KILL QUERY ${real}`)).toMatchObject({ errno: 1142 });
      expect(await kill(theirs, `/* hidden */ KILL QUERY ${real}`)).toMatchObject({ errno: 1094 });
      expect(runningAtTarget('guarded_nap')).toBe(1);

      // The same user, with the id its session was greeted with: stopped, and the session goes on.
      expect(await kill(mySecond, `KILL QUERY ${greeted}`)).toEqual({ errno: 0, message: 'OK' });
      expect(await sleeping).toMatchObject({ errno: 1317 });
      expect(runningAtTarget('guarded_nap')).toBe(0);
      const [rows] = await mine.query('SELECT 41 + 1 AS n');
      expect(rows).toEqual([{ n: 42 }]);

      // The same user, with the server's thread id (what CONNECTION_ID() says): stopped too.
      const [[own]] = (await mine.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
      expect(own.id).toBe(real);
      const again = mine.query('SELECT SLEEP(30) AS guarded_nap').then(
        () => ({ errno: 0 }),
        (error: unknown) => ({ errno: (error as { errno?: number }).errno }),
      );
      await expect.poll(() => runningAtTarget('guarded_nap'), { timeout: 15_000 }).toBe(1);
      expect(await kill(mySecond, `KILL QUERY ${real}`)).toEqual({ errno: 0, message: 'OK' });
      expect(await again).toMatchObject({ errno: 1317 });
    } finally {
      for (const c of [mine, mySecond, theirs]) await c.end().catch(() => undefined);
    }
  });
});
