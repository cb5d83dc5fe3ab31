import type { Socket } from 'node:net';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTestDatabase,
  loginDevUser,
  runPsql,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startPostgresCluster,
  startTunnelGateway,
  type CliProcess,
  type PostgresCluster,
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
  - name: dbas
    subjects: ['group:dba']
    connections: ['*']
    verbs: [connect, review]
guardrails:
  - name: no-drop
    match: {protocol: postgres}
    deny: {statements: [DROP, TRUNCATE], message: dropping tables is not allowed here}
  - name: deletes-need-approval
    match: {connections: [pg-app]}
    require_approval: {statements: [DELETE], approvers: ['group:dba'], timeout: 2m}
masking:
  - name: pii
    match: {connections: ['tag:pii=true']}
    detectors: [email]
    columns: [customers.ssn]
`;

interface SessionDetail {
  subject: string;
  events: { kind: string; event: Record<string, unknown> }[];
}

/**
 * The PostgreSQL data path as a user meets it: psql and node-postgres talk to `tollgate connect`,
 * through a real gateway and a real agent, to a real PostgreSQL that authenticates with SCRAM.
 */
describe('PostgreSQL through tollgate connect (gateway + agent + SCRAM target)', () => {
  let cluster: PostgresCluster;
  let gateway: TunnelGateway;
  let developerToken: string;
  let dbaToken: string;
  let port: number;
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];

  const psql = (args: string[], input = '', atPort = port, env: Record<string, string> = {}) =>
    runPsql(atPort, args, { user: 'dev', database: 'app', input, env });

  const sessionsOf = async (subjectLike: string) => {
    const list = await gateway.api<{ items: { id: string; subject: string }[] }>(
      'GET',
      '/api/v1/sessions?connection=pg-app',
    );
    const details: SessionDetail[] = [];
    for (const item of list.body.items.filter((s) => s.subject.includes(subjectLike))) {
      details.push((await gateway.api<SessionDetail>('GET', `/api/v1/sessions/${item.id}`)).body);
    }
    return details;
  };

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    cleanups.push(() => cluster.stop());
    cluster.sql(
      `CREATE TABLE customers (id int PRIMARY KEY, email text, ssn text);
       INSERT INTO customers VALUES (1, 'ada@example.com', '123-45-6789'), (2, 'bob@example.org', '234-56-7890');
       CREATE TABLE scratch (id int);
       ALTER TABLE customers OWNER TO tg_scram; ALTER TABLE scratch OWNER TO tg_scram;`,
      'app',
    );
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    gateway = await startTunnelGateway(['--dev-idp', '--dev-idp-port', '0'], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agentToken = await createAgent(gateway, 'edge-pg');
    // pg-app carries pii=true (masking applies); developers may use it but not pg-admin.
    for (const [name, tags] of [
      ['pg-app', { pii: 'true' }],
      ['pg-admin', {}],
    ] as const) {
      const created = await gateway.api('POST', '/api/v1/connections', {
        name,
        protocol: 'postgres',
        tags,
        target: {
          host: cluster.host,
          port: cluster.port,
          database: 'app',
          username: 'tg_scram',
          tls: { mode: 'disable' },
        },
        credential: { password: 'env:APP_DB_PASSWORD' },
        agents: ['edge-pg'],
      });
      expect(created.status).toBe(201);
    }
    processes.push(
      await spawnAgent(gateway.grpcUrl, agentToken, { env: { APP_DB_PASSWORD: cluster.password } }),
    );
    developerToken = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
    dbaToken = (await loginDevUser(gateway.httpUrl, 'dba')).access_token;
    const connect = await spawnConnect(gateway.grpcUrl, developerToken, 'pg-app');
    processes.push(connect.cli);
    port = connect.port;
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('lets psql in without a password; the agent authenticates to the target with SCRAM', async () => {
    const result = await psql(['-c', 'select current_user, count(*) from customers']);
    expect(result).toMatchObject({ code: 0, stdout: 'tg_scram|2\n' });
  });

  it('denies DROP with SQLSTATE 42501, the session goes on, and the audit names the developer', async () => {
    const result = await psql(['-v', 'VERBOSITY=verbose'], 'select 1;\ndrop table scratch;\nselect 2;\n');
    expect(result.stdout).toBe('1\n2\n');
    expect(result.stderr).toContain('ERROR:  42501: dropping tables is not allowed here');
    expect(cluster.sql("select count(*) from pg_tables where tablename = 'scratch'", 'app').trim()).toBe('1');

    const commands = (await sessionsOf('user:'))
      .flatMap((s) => s.events)
      .filter((e) => e.kind === 'command')
      .map((e) => e.event);
    expect(commands).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ command: 'drop table scratch;', decision: 'deny', rule: 'no-drop' }),
        expect.objectContaining({ command: 'select 2;', decision: 'allow' }),
      ]),
    );
  });

  it('denies a DO block (opaque code) and the server runs none of it; the session goes on', async () => {
    const script = "do $$ begin execute 'drop table scratch'; end $$;\nselect 3;\n";
    const result = await psql(['-v', 'VERBOSITY=verbose'], script);
    expect(result.stdout).toBe('3\n');
    expect(result.stderr).toContain(
      'ERROR:  42501: DO is opaque code (what it runs cannot be inspected), denied by policy rule "no-drop"',
    );
    expect(cluster.sql("select count(*) from pg_tables where tablename = 'scratch'", 'app').trim()).toBe('1');
  });

  it("passes psql's start-up parameters (PGOPTIONS, PGDATESTYLE, PGTZ) through to the server", async () => {
    const result = await psql(
      ['-c', 'show intervalstyle', '-c', 'show datestyle', '-c', 'show timezone'],
      '',
      port,
      {
        PGOPTIONS: '-c intervalstyle=iso_8601',
        PGDATESTYLE: 'ISO, DMY',
        PGTZ: 'Asia/Tokyo',
      },
    );
    expect(result).toMatchObject({ code: 0, stdout: 'iso_8601\nISO, DMY\nAsia/Tokyo\n' });
  });

  it('shows each statement with its decision, rows, bytes and time in `tollgate sessions show`', async () => {
    const result = await psql([], 'select id from customers order by id;\ndrop table customers;\n');
    expect(result.stdout).toBe('1\n2\n');
    const sessions = await gateway.api<{ items: { id: string; state: string }[] }>(
      'GET',
      '/api/v1/sessions?connection=pg-app',
    );
    const latest = sessions.body.items[0]?.id;
    const show = async () => {
      const cli = spawnCli(['sessions', 'show', latest], {
        TOLLGATE_TOKEN: gateway.adminToken,
        TOLLGATE_URL: gateway.httpUrl,
      });
      await cli.exited();
      return cli.output();
    };
    await expect.poll(show, { timeout: 10_000 }).toContain('session.close');
    // The agent journals each statement and its result before and after running it and ships them
    // right after (edge audit mode): the result may reach the gateway after the session's close.
    await expect.poll(show, { timeout: 10_000 }).toMatch(/result {2}"select id from customers/);
    const text = await show();
    expect(text).toMatch(/command ALLOW "select id from customers order by id;"/);
    expect(text).toMatch(/result {2}"select id from customers order by id;": 2 rows, \d+ bytes in [\d.]+ ms/);
    expect(text).toMatch(/command DENY "drop table customers;" \(rule no-drop\)/);
    expect(text).not.toMatch(/result {2}"drop table customers;"/);
  });

  it('runs one-off SQL with tollgate exec through the same policy, masking and audit', async () => {
    const exec = async (...args: string[]) => {
      const cli = spawnCli(['exec', 'pg-app', '--grpc', gateway.grpcUrl, ...args], {
        TOLLGATE_TOKEN: developerToken,
      });
      const code = await cli.exited();
      return { code, output: cli.output() };
    };
    const table = await exec('-c', 'select id, email from customers order by id');
    expect(table).toEqual({
      code: 0,
      output: [
        ' id | email',
        '----+--------------',
        ' 1  | a***@***.com',
        ' 2  | b***@***.org',
        '(2 rows)',
        '',
      ].join('\n'),
    });
    expect((await exec('--format', 'json', '-c', 'select id from customers where id = 2')).output).toBe(
      '[{"id":"2"}]\n',
    );
    expect((await exec('--format', 'csv', '-c', 'select id, ssn from customers where id = 1')).output).toBe(
      'id,ssn\r\n1,********\r\n',
    );
    const denied = await exec('-c', 'drop table customers');
    expect(denied.code).toBe(1);
    expect(denied.output).toContain('ERROR: dropping tables is not allowed here (SQLSTATE 42501)');
    const missing = await exec('-f', '/nonexistent.sql');
    expect(missing).toEqual({ code: 1, output: 'tollgate exec: cannot read /nonexistent.sql: ENOENT\n' });
  });

  it('masks e-mail addresses and the ssn column in results', async () => {
    const result = await psql(['-c', 'select email, ssn, ssn as s from customers order by id']);
    expect(result.stdout).toBe('a***@***.com|********|********\nb***@***.org|********|********\n');
  });

  it('holds a DELETE until a DBA approves it, then runs it exactly once', async () => {
    cluster.sql('insert into scratch values (1), (2)', 'app');
    const client = new Client({ host: '127.0.0.1', port, user: 'dev', database: 'app' });
    await client.connect();
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
    try {
      const deleting = client.query('delete from scratch where id = 1');
      await expect.poll(() => notices.length, { timeout: 20_000 }).toBe(1);
      const review = /review ([0-9a-f-]{36})/.exec(notices[0] ?? '')?.[1];
      expect(review).toBeDefined();
      expect(cluster.sql('select count(*) from scratch', 'app').trim()).toBe('2');

      const approve = spawnCli(['reviews', 'approve', review as string], {
        TOLLGATE_TOKEN: dbaToken,
        TOLLGATE_URL: gateway.httpUrl,
      });
      expect(await approve.exited()).toBe(0);
      expect((await deleting).rowCount).toBe(1);
      expect(cluster.sql('select id from scratch', 'app').trim()).toBe('2');
    } finally {
      await client.end();
    }
  });

  it('a reviewer sees the whole statement held for them; one too long to show whole is refused, not cut', async () => {
    cluster.sql('insert into scratch values (5), (6)', 'app');
    const client = new Client({ host: '127.0.0.1', port, user: 'dev', database: 'app' });
    await client.connect();
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
    try {
      // Padding hides, past the first 10,000 characters, the clause that decides what is deleted.
      const padded = `delete from scratch where id = 5 /* ${'x'.repeat(12_000)} */ or true`;
      const deleting = client.query(padded).catch((error: Error) => error);
      await expect.poll(() => notices.length, { timeout: 20_000 }).toBe(1);
      const review = /review ([0-9a-f-]{36})/.exec(notices[0] ?? '')?.[1] as string;
      const shown = (await (
        await fetch(`${gateway.httpUrl}/api/v1/reviews/${review}`, {
          headers: { authorization: `Bearer ${dbaToken}` },
        })
      ).json()) as { command: string };
      expect(shown.command).toBe(padded);
      const reject = spawnCli(['reviews', 'reject', review], {
        TOLLGATE_TOKEN: dbaToken,
        TOLLGATE_URL: gateway.httpUrl,
      });
      expect(await reject.exited()).toBe(0);
      expect(await deleting).toBeInstanceOf(Error);

      const huge = `delete from scratch where id = 5 /* ${'x'.repeat(70_000)} */ or true`;
      await expect(client.query(huge)).rejects.toThrow(
        /the command is too long to be reviewed \(70\d{3} characters/,
      );
      expect(notices).toHaveLength(1);
      expect(cluster.sql('select count(*) from scratch where id in (5, 6)', 'app').trim()).toBe('2');
    } finally {
      await client.end();
    }
  });

  it('a client that quits while its DELETE waits for approval ends the session; the review is withdrawn and runs nothing', async () => {
    cluster.sql('insert into scratch values (4)', 'app');
    const client = new Client({ host: '127.0.0.1', port, user: 'dev', database: 'app' });
    await client.connect();
    const notices: string[] = [];
    client.on('notice', (notice) => notices.push(notice.message ?? ''));
    client.on('error', () => undefined);
    const deleting = client.query('delete from scratch where id = 4').catch((error: unknown) => error);
    await expect.poll(() => notices.length, { timeout: 20_000 }).toBe(1);
    const review = /review ([0-9a-f-]{36})/.exec(notices[0] ?? '')?.[1] as string;
    // Reviews are shown to their requester and reviewers (the DBAs here), not to every admin.
    const reviewAsDba = async () =>
      (await (
        await fetch(`${gateway.httpUrl}/api/v1/reviews/${review}`, {
          headers: { authorization: `Bearer ${dbaToken}` },
        })
      ).json()) as { sessionId: string; state: string };
    const { sessionId } = await reviewAsDba();
    // The client goes away without a word (a killed psql): only its socket closes.
    (client as unknown as { connection: { stream: Socket } }).connection.stream.destroy();
    await deleting;

    // The session ends now, not when the review would time out (2 minutes).
    await expect
      .poll(
        async () => (await gateway.api<{ state: string }>('GET', `/api/v1/sessions/${sessionId}`)).body.state,
        {
          timeout: 15_000,
        },
      )
      .toBe('closed');
    expect((await reviewAsDba()).state).toBe('expired');
    const withdrawn = (await gateway.auditRecords('review:withdrawn')).find(
      (record) => record.target === `review:${review}`,
    );
    expect(withdrawn?.reason).toContain('withdrawn: the session ended while the command waited');
    // The session's timeline keeps the held command, denied because its review was withdrawn.
    await expect
      .poll(
        async () =>
          (await gateway.api<SessionDetail>('GET', `/api/v1/sessions/${sessionId}`)).body.events
            .filter((e) => e.kind === 'command')
            .map((e) => [e.event.command, e.event.decision, e.event.reviewId]),
        { timeout: 10_000 },
      )
      .toEqual([['delete from scratch where id = 4', 'deny', review]]);
    // Approving it now is refused, and nothing ran.
    const approve = spawnCli(['reviews', 'approve', review], {
      TOLLGATE_TOKEN: dbaToken,
      TOLLGATE_URL: gateway.httpUrl,
    });
    expect(await approve.exited()).toBe(1);
    expect(cluster.sql('select count(*) from scratch where id = 4', 'app').trim()).toBe('1');
  });

  it('tollgate exec says a DELETE waits for approval while it waits, and names the review', async () => {
    cluster.sql('insert into scratch values (3)', 'app');
    const exec = spawnCli(
      ['exec', 'pg-app', '--grpc', gateway.grpcUrl, '-c', 'delete from scratch where id = 3'],
      {
        TOLLGATE_TOKEN: developerToken,
      },
    );
    // Said on stderr before anyone decides, so the person running it knows why nothing happens.
    const [, review] = await exec.waitFor(/NOTICE: .*requires approval.*review ([0-9a-f-]{36})/, 30_000);
    expect(cluster.sql('select count(*) from scratch where id = 3', 'app').trim()).toBe('1');
    const approve = spawnCli(['reviews', 'approve', review], {
      TOLLGATE_TOKEN: dbaToken,
      TOLLGATE_URL: gateway.httpUrl,
    });
    expect(await approve.exited()).toBe(0);
    expect(await exec.exited()).toBe(0);
    expect(cluster.sql('select count(*) from scratch where id = 3', 'app').trim()).toBe('0');
    // The notice is said once, not again when the statement finishes.
    expect(exec.output().match(/requires approval/g)).toHaveLength(1);
  });

  it("listens on PostgreSQL's local port by default, and refuses early a connection the role does not allow", async () => {
    const env = { TOLLGATE_TOKEN: developerToken, TOLLGATE_URL: gateway.httpUrl };
    const onDefault = spawnCli(['connect', 'pg-app', '--grpc', gateway.grpcUrl], env);
    processes.push(onDefault);
    await onDefault.waitFor(/listening on 127\.0\.0\.1:5433 for "pg-app"/);
    const viaDefault = await psql(['-c', 'select 42'], '', 5433);
    expect(viaDefault.stdout).toBe('42\n');
    await onDefault.stop('SIGINT');

    const refused = spawnCli(['connect', 'pg-admin', '--grpc', gateway.grpcUrl], env);
    expect(await refused.exited()).toBe(1);
    expect(refused.output()).toMatch(/^tollgate connect: pg-admin: denied: /);

    const misspelt = spawnCli(['connect', 'pg-ap', '--grpc', gateway.grpcUrl], env);
    expect(await misspelt.exited()).toBe(1);
    expect(misspelt.output()).toMatch(
      /^tollgate connect: pg-ap: no such connection on http:\/\/127\.0\.0\.1:\d+ \(`tollgate ls` lists the ones you may use\)/,
    );
  });

  it('tells psql in its own protocol why a connection its role does not allow is refused', async () => {
    const denied = spawnCli(['connect', 'pg-admin', '--port', '0', '--grpc', gateway.grpcUrl], {
      TOLLGATE_TOKEN: developerToken,
    });
    processes.push(denied);
    const listening = await denied.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
    const result = await psql(['-c', 'select 1'], '', Number(listening[1]));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/FATAL: {2}tollgate: .*pg-admin/);
    expect(cluster.sql("select count(*) from pg_stat_activity where usename = 'tg_scram'").trim()).toBe('0');
  });
});
