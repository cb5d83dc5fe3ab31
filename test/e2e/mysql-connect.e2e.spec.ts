import { execFile, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createMariadbDatabase,
  createTestDatabase,
  loginDevUser,
  mariadbRoot,
  heldUpdateOnMariadbTerminal,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startTunnelGateway,
  type CliProcess,
  type MariadbTestDatabase,
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
    connections: [my-app, my-wrong-password]
    verbs: [connect, exec]
  - name: dbas
    subjects: ['group:dba']
    connections: ['*']
    verbs: [connect, review]
guardrails:
  - name: no-drop
    match: {protocol: mysql}
    deny: {statements: [DROP, TRUNCATE], message: dropping tables is not allowed here}
  - name: updates-need-approval
    match: {connections: [my-app]}
    require_approval: {statements: [UPDATE], approvers: ['group:dba'], timeout: 2m, message: updates need a DBA}
masking:
  - name: pii
    match: {connections: ['tag:pii=true']}
    detectors: [email]
    columns: [customers.ssn]
`;

/**
 * The MySQL data path as a user meets it: the mariadb CLI and `tollgate exec` through `tollgate
 * connect`, a real gateway and a real agent, to the machine's MariaDB, where the agent logs in as an
 * ed25519 user.
 */
describe('MySQL through tollgate connect (gateway + agent + MariaDB with ed25519)', () => {
  let db: MariadbTestDatabase;
  let gateway: TunnelGateway;
  let developerToken: string;
  let port: number;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];

  const mariadb = (sql: string, atPort = port) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        'mariadb',
        ['-h', '127.0.0.1', '-P', String(atPort), '-u', 'dev', '-N', '-B', '--force'],
        { timeout: 30_000 },
        (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(sql);
    });
  const exec = async (...args: string[]) => {
    const cli = spawnCli(['exec', 'my-app', '--grpc', gateway.grpcUrl, ...args], {
      TOLLGATE_TOKEN: developerToken,
    });
    const code = await cli.exited();
    return { code, output: cli.output() };
  };

  beforeAll(async () => {
    db = createMariadbDatabase();
    cleanups.push(() => db.drop());
    db.sql(
      `CREATE TABLE customers (id int PRIMARY KEY, email varchar(80), ssn varchar(20));
       INSERT INTO customers VALUES (1, 'ada@example.com', '123-45-6789'), (2, 'bob@example.org', '234-56-7890');
       CREATE TABLE scratch (id int);`,
    );
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    gateway = await startTunnelGateway(['--dev-idp', '--dev-idp-port', '0'], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-my');
    // my-app logs in as the ed25519 user; my-wrong-password with a password the server refuses.
    for (const [name, passwordEnv, tags] of [
      ['my-app', 'MY_DB_PASSWORD', { pii: 'true' }],
      ['my-wrong-password', 'MY_DB_WRONG_PASSWORD', {}],
    ] as const) {
      const created = await gateway.api('POST', '/api/v1/connections', {
        name,
        protocol: 'mysql',
        tags,
        target: {
          host: '127.0.0.1',
          port: 3306,
          database: db.name,
          username: db.users.ed25519,
          tls: { mode: 'disable' },
        },
        credential: { password: `env:${passwordEnv}` },
        agents: ['edge-my'],
      });
      expect(created.status).toBe(201);
    }
    processes.push(
      await spawnAgent(gateway.grpcUrl, agentToken, {
        env: { MY_DB_PASSWORD: db.password, MY_DB_WRONG_PASSWORD: `${db.password}-not` },
      }),
    );
    developerToken = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
    const connect = await spawnConnect(gateway.grpcUrl, developerToken, 'my-app');
    processes.push(connect.cli);
    port = connect.port;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('lets the mariadb CLI in without a password, denies DROP with 42000 and goes on, masks rows', async () => {
    const result = await mariadb(
      'SELECT CURRENT_USER();\nDROP TABLE scratch;\nSELECT id, email, ssn FROM customers ORDER BY id;\n',
    );
    expect(result.stdout).toBe(
      `${db.users.ed25519}@%\n1\ta***@***.com\t********\n2\tb***@***.org\t********\n`,
    );
    expect(result.stderr).toMatch(
      /ERROR 1142 \(42000\) at line 2: tollgate: dropping tables is not allowed here/,
    );
    expect(db.sql("SHOW TABLES LIKE 'scratch'").trim()).toBe('scratch');
  });

  it("holds an UPDATE for review and says so on the mariadb CLI's terminal (a MariaDB progress report), then runs it once approved", async () => {
    await heldUpdateOnMariadbTerminal(
      db,
      `mariadb -h 127.0.0.1 -P ${port} -u dev`,
      /Stage: 1 of 1 'tollgate: updates need a DBA\. Waiting for approval by group:dba: review [0-9a-f-]{36}/,
      async (review) => {
        const dba = (await loginDevUser(gateway.httpUrl, 'dba')).access_token;
        const approve = spawnCli(['reviews', 'approve', review], {
          TOLLGATE_TOKEN: dba,
          TOLLGATE_URL: gateway.httpUrl,
        });
        expect(await approve.exited()).toBe(0);
      },
    );
  });

  it('tells the mariadb client in its own protocol (ERR 1045) when the login behind connect is no longer valid', async () => {
    const token = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
    const connect = await spawnConnect(gateway.grpcUrl, token, 'my-app', { TOLLGATE_URL: gateway.httpUrl });
    processes.push(connect.cli);
    const revoked = await fetch(`${gateway.httpUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(revoked.status).toBe(200);
    // MySQL's server speaks first: the client sends nothing to tell its protocol by, so connect
    // must know it (it asked the gateway at start-up) or the client only sees its connection reset.
    const result = await mariadb('SELECT 1;\n', connect.port);
    expect(result.stderr).toMatch(/ERROR 1045 \(28000\).*access token/);
    expect(result.stdout).toBe('');
  });

  it('runs one-off SQL with tollgate exec through the same policy and masking', async () => {
    expect(await exec('--format', 'csv', '-c', 'SELECT id, ssn FROM customers WHERE id = 1')).toEqual({
      code: 0,
      output: 'id,ssn\r\n1,********\r\n',
    });
    const denied = await exec('-c', 'DROP TABLE customers');
    expect(denied.code).toBe(1);
    expect(denied.output).toContain('dropping tables is not allowed here (SQLSTATE 42000)');
  });

  it('tollgate exec and the console say an UPDATE waits for approval while it waits, and name the review', async () => {
    db.sql('INSERT INTO scratch VALUES (7)');
    const held = spawnCli(
      ['exec', 'my-app', '--grpc', gateway.grpcUrl, '-c', 'UPDATE scratch SET id = 8 WHERE id = 7'],
      {
        TOLLGATE_TOKEN: developerToken,
      },
    );
    // Said on stderr before anyone decides, so the person running it knows why nothing happens.
    const [, review] = await held.waitFor(
      /NOTICE: tollgate: updates need a DBA\. Waiting for approval by group:dba: review ([0-9a-f-]{36})/,
      30_000,
    );
    expect(db.sql('SELECT count(*) FROM scratch WHERE id = 8').trim()).toBe('0');
    const dba = (await loginDevUser(gateway.httpUrl, 'dba')).access_token;
    const approve = spawnCli(['reviews', 'approve', review], {
      TOLLGATE_TOKEN: dba,
      TOLLGATE_URL: gateway.httpUrl,
    });
    expect(await approve.exited()).toBe(0);
    expect(await held.exited()).toBe(0);
    expect(db.sql('SELECT count(*) FROM scratch WHERE id = 8').trim()).toBe('1');
    expect(held.output().match(/Waiting for approval/g)).toHaveLength(1);

    // The console's query runner streams the same notice as a JSON line while the statement waits.
    const response = await fetch(`${gateway.httpUrl}/api/v1/connections/my-app/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${developerToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'UPDATE scratch SET id = 9 WHERE id = 8' }),
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    let notice: RegExpExecArray | null = null;
    while (!notice) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the query ended without a notice: ${text}`);
      text += value;
      notice = /"type":"notice","message":"tollgate: updates need a DBA\.[^"]*review ([0-9a-f-]{36})/.exec(
        text,
      );
    }
    const approveConsole = spawnCli(['reviews', 'approve', notice[1]], {
      TOLLGATE_TOKEN: dba,
      TOLLGATE_URL: gateway.httpUrl,
    });
    expect(await approveConsole.exited()).toBe(0);
    for (let next = await reader.read(); !next.done; next = await reader.read()) text += next.value;
    expect(text).toContain('"type":"done","statements":1,"failed":0');
    expect(db.sql('SELECT count(*) FROM scratch WHERE id = 9').trim()).toBe('1');
  });

  it('says why when the agent cannot log in to the target, as the mariadb client would (code and SQLSTATE)', async () => {
    const cli = spawnCli(['exec', 'my-wrong-password', '--grpc', gateway.grpcUrl, '-c', 'SELECT 1'], {
      TOLLGATE_TOKEN: developerToken,
    });
    expect(await cli.exited()).toBe(1);
    // MariaDB's own refusal of the agent's login, relayed: not "tollgate: tollgate: ...".
    expect(cli.output()).toMatch(/^tollgate exec: ERROR \d{4} \(28000\): .*Access denied/m);
    expect(cli.output()).not.toContain('tollgate: tollgate');
  });

  it("runs SQL from the console's query runner (HTTP, JSON lines): masked, bounded rows, a denied statement", async () => {
    const run = async (sql: string, maxRows?: number) => {
      const response = await fetch(`${gateway.httpUrl}/api/v1/connections/my-app/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${developerToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ sql, ...(maxRows ? { maxRows } : {}) }),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('application/x-ndjson');
      return (await response.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    };
    const read = await run('SELECT id, ssn FROM customers ORDER BY id', 1);
    expect(read[0]).toMatchObject({ type: 'session', agent: 'edge-my' });
    // One row kept of two (the tag counts both); the ssn masked as everywhere else.
    expect(read[1]).toEqual({
      type: 'result',
      columns: ['id', 'ssn'],
      rows: [['1', '********']],
      tag: 'SELECT 2',
      truncated: true,
    });
    expect(read[2]).toMatchObject({ type: 'done', statements: 1, failed: 0 });

    const denied = await run('DROP TABLE customers');
    expect(denied[1]).toMatchObject({
      type: 'result',
      error: { code: '42000', message: 'tollgate: dropping tables is not allowed here' },
    });
    expect(denied[2]).toMatchObject({ type: 'done', statements: 1, failed: 1 });
    expect(db.sql("SHOW TABLES LIKE 'customers'").trim()).toBe('customers');
  });

  it('runs sysbench oltp_read_only (prepared statements, 2 threads) through connect without errors', async () => {
    const sysbench = (args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          'sysbench',
          [
            'oltp_read_only',
            '--db-driver=mysql',
            '--mysql-host=127.0.0.1',
            '--mysql-ssl=off',
            '--tables=1',
            '--table-size=100',
            ...args,
          ],
          { timeout: 60_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: stdout + stderr }),
        );
      });
    // The tables are made directly: the run is what goes through Tollgate.
    const prepared = await sysbench([
      '--mysql-port=3306',
      `--mysql-user=${db.users.native}`,
      `--mysql-password=${db.password}`,
      `--mysql-db=${db.name}`,
      'prepare',
    ]);
    expect(prepared.code, prepared.stdout).toBe(0);
    const result = await sysbench([
      `--mysql-port=${port}`,
      '--mysql-user=dev',
      `--mysql-db=${db.name}`,
      '--threads=2',
      '--events=40',
      '--time=0',
      'run',
    ]);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/transactions:\s+40 /);
    expect(result.stdout).toMatch(/ignored errors:\s+0 /);
  });

  it("stops the mariadb CLI's statement on Ctrl+C: its KILL QUERY names Tollgate's id for the session", async () => {
    const child = spawn('mariadb', [
      '-h',
      '127.0.0.1',
      '-P',
      String(port),
      '-u',
      'dev',
      '-N',
      '-B',
      '-e',
      'SELECT SLEEP(30) AS ctrl_c_nap',
    ]);
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
    const running = () =>
      mariadbRoot(
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(30) AS ctrl_c_nap%'",
      ).trim();
    await expect.poll(running, { timeout: 15_000 }).toBe('1');
    child.kill('SIGINT');
    await exited;
    expect(output).toContain('Query execution was interrupted');
    expect(running()).toBe('0');
  });

  it('stops the running statement on the server when an admin kills the session', async () => {
    const running = mariadb('SELECT SLEEP(30) AS killed_nap;\n');
    const find = () =>
      mariadbRoot(
        "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE 'SELECT SLEEP(30) AS killed_nap%'",
      ).trim();
    await expect.poll(find, { timeout: 15_000 }).toBe('1');
    const list = await gateway.api<{ items: { id: string }[] }>(
      'GET',
      '/api/v1/sessions?state=open&connection=my-app',
    );
    expect(list.body.items).toHaveLength(1);
    expect((await gateway.api('POST', `/api/v1/sessions/${list.body.items[0]?.id}/kill`)).status).toBe(202);
    const result = await running;
    // Said in MySQL's own words, as the server says a killed connection, not a lost one.
    expect(result.stderr).toMatch(
      /ERROR 1927 \(70100\) at line 1: tollgate: session ended: killed by sa:bootstrap-admin/,
    );
    // The statement ends on the server too, not only the client's connection.
    await expect.poll(find, { timeout: 10_000 }).toBe('0');
  });
});
