import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTestDatabase,
  MACHINE_POSTGRES,
  postTokenEndpoint,
  runPsql,
  spawnAgent,
  spawnConnect,
  startEchoStack,
  type EchoStack,
  type PsqlRun,
} from '@tollgate/testing';
import { Client } from 'pg';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/**
 * How sessions end, as psql sees it: every refusal (before the session opens and while it runs)
 * reaches psql as a FATAL ErrorResponse with a SQLSTATE and the reason, before the socket closes.
 * One gateway (on its own database), one agent and the machine's PostgreSQL as the target.
 */
describe('session endings reach psql in its own protocol', () => {
  let stack: EchoStack;
  let target: Awaited<ReturnType<typeof createTestDatabase>>;
  let adminPort: number;

  const api = <T = unknown>(method: string, path: string, body?: unknown) =>
    stack.gateway.api<T>(method, path, body);
  const psql = (port: number, args: string[]): Promise<PsqlRun> =>
    runPsql(port, args, { user: 'me', database: 'app' });
  /** A token exchanged from the admin's (revocable on its own, optionally narrowed). */
  const delegatedToken = async (scope?: string): Promise<string> => {
    const { status, body } = await postTokenEndpoint(stack.gateway.httpUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: stack.gateway.adminToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      ...(scope ? { scope } : {}),
    });
    expect(status).toBe(200);
    return body['access_token'] as string;
  };
  const revoke = async (token: string) => {
    const response = await fetch(`${stack.gateway.httpUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(response.status).toBe(200);
  };
  const listen = async (token: string, connection = 'pg') => {
    const connect = await spawnConnect(stack.gateway.grpcUrl, token, connection);
    stack.processes.push(connect.cli);
    return connect.port;
  };
  /** One value from the target database, as its owner sees it. */
  const targetSql = async (sql: string): Promise<string> => {
    const client = new Client({ ...MACHINE_POSTGRES, database: target.name });
    await client.connect();
    try {
      const { rows } = await client.query<Record<string, unknown>>(sql);
      return String(Object.values(rows[0] ?? {})[0]);
    } finally {
      await client.end();
    }
  };
  /** The target stops running the statement containing `text` at once (it was cancelled there). */
  const expectStopped = (text: string) =>
    expect
      .poll(
        () =>
          targetSql(
            `select count(*) from pg_stat_activity where query like '%${text}%' and pid <> pg_backend_pid()`,
          ),
        { timeout: 5_000 },
      )
      .toBe('0');
  /** Resolves once the target runs a statement containing `text` (so the session is open and busy). */
  const waitForRunning = async (text: string) => {
    const client = new Client({ ...MACHINE_POSTGRES, database: target.name });
    await client.connect();
    try {
      await expect
        .poll(
          async () =>
            (
              await client.query<{ n: string }>(
                'select count(*) as n from pg_stat_activity where query like $1 and pid <> pg_backend_pid()',
                [`%${text}%`],
              )
            ).rows[0]?.n,
          { timeout: 20_000 },
        )
        .toBe('1');
    } finally {
      await client.end();
    }
  };
  /**
   * How a refused open reads: psql's line (libpq shows no SQLSTATE for a failed connection) and the
   * SQLSTATE node-postgres reports.
   */
  const expectRefused = async (port: number, reason: RegExp, sqlState: string) => {
    const result = await psql(port, ['-c', 'select 1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`FATAL: {2}tollgate: ${reason.source}`));
    const client = new Client({ host: '127.0.0.1', port, user: 'me', database: 'app' });
    const error = (await client.connect().then(
      () => client.end(),
      (e: unknown) => e,
    )) as { code?: string; severity?: string } | undefined;
    expect({ sqlState: error?.code, severity: error?.severity }).toEqual({ sqlState, severity: 'FATAL' });
  };
  const liveSession = async () => {
    // The row's open state rides with the audit log's next commit (within ~50 ms).
    let items: { id: string; state: string }[] = [];
    await expect
      .poll(
        async () =>
          (items = (
            await api<{ items: { id: string; state: string }[] }>('GET', '/api/v1/sessions?state=open')
          ).body.items).length,
        { timeout: 10_000, interval: 100 },
      )
      .toBe(1);
    return (items[0] as { id: string }).id;
  };

  beforeAll(async () => {
    stack = await startEchoStack();
    target = await createTestDatabase();
    stack.cleanups.push(target.drop);
    await targetSql('create table landed (id int)');
    const agentToken = await createAgent(stack.gateway, 'edge');
    for (const [name, agents] of [
      ['pg', ['edge']],
      ['pg-nobody-serves', []],
    ] as const) {
      const created = await api('POST', '/api/v1/connections', {
        name,
        protocol: 'postgres',
        target: {
          host: MACHINE_POSTGRES.host,
          port: MACHINE_POSTGRES.port,
          database: target.name,
          username: MACHINE_POSTGRES.user,
          tls: { mode: 'disable' },
        },
        agents,
      });
      expect(created.status).toBe(201);
    }
    stack.processes.push(await spawnAgent(stack.gateway.grpcUrl, agentToken));
    adminPort = await listen(stack.gateway.adminToken);
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('relays a session (the baseline)', async () => {
    expect(await psql(adminPort, ['-c', 'select 40 + 2'])).toMatchObject({ code: 0, stdout: '42\n' });
  });

  it('refuses an unknown connection name (connect --port) with 3D000', async () => {
    const port = await listen(stack.gateway.adminToken, 'no-such-connection');
    await expectRefused(port, /no connection named "no-such-connection"\n$/, '3D000');
  });

  it('refuses a connection no online agent serves with 08001', async () => {
    const port = await listen(stack.gateway.adminToken, 'pg-nobody-serves');
    await expectRefused(port, /no agent serving "pg-nobody-serves" is online/, '08001');
  });

  it('refuses a session the token does not allow (policy deny) with 28000', async () => {
    const port = await listen(await delegatedToken('connect:pg-nobody-serves'), 'pg');
    await expectRefused(
      port,
      /the token's scope \(connect:pg-nobody-serves\) does not include connect on connection "pg"/,
      '28000',
    );
  });

  it('refuses a revoked token with 28000 and the reason', async () => {
    const token = await delegatedToken();
    const port = await listen(token);
    expect((await psql(port, ['-c', 'select 1'])).stdout).toBe('1\n');
    await revoke(token);
    await expectRefused(
      port,
      /the gateway refused the access token: invalid token: the token has been revoked/,
      '28000',
    );
  });

  it('ends a running session whose token is revoked with 28000 and the reason', async () => {
    const token = await delegatedToken();
    const port = await listen(token);
    const running = psql(port, ['-v', 'VERBOSITY=verbose', '-c', 'select pg_sleep(30) as revoked_nap']);
    await waitForRunning('revoked_nap');
    await revoke(token);
    const result = await running;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /FATAL: {2}28000: tollgate: session ended: the access token of this session was revoked/,
    );
    await expectStopped('revoked_nap');
  });

  it('a kill cancels the running statement at the target: the INSERT queued behind it never lands', async () => {
    const running = psql(adminPort, [
      '-v',
      'VERBOSITY=verbose',
      '-c',
      'select pg_sleep(30) as killed_nap; insert into landed values (1)',
    ]);
    await waitForRunning('killed_nap');
    const id = await liveSession();
    expect((await api('POST', `/api/v1/sessions/${id}/kill`)).status).toBe(202);
    const result = await running;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/FATAL: {2}57P01: tollgate: session ended: killed by sa:bootstrap-admin/);
    // Checked on the server: the backend stopped sleeping at once, and nothing was inserted.
    await expectStopped('killed_nap');
    expect(await targetSql('select count(*) from landed')).toBe('0');
    // The audit says what the kill interrupted, and what the target said (the agent journals the
    // result and ships it right after: edge audit mode).
    const detailOf = () =>
      api<{
        closeReason: string;
        events: { kind: string; event: Record<string, unknown> }[];
      }>('GET', `/api/v1/sessions/${id}`);
    await expect
      .poll(async () => (await detailOf()).body.events.some((e) => e.kind === 'command.result'), {
        timeout: 15_000,
      })
      .toBe(true);
    const detail = await detailOf();
    const result_ = detail.body.events.find((e) => e.kind === 'command.result');
    expect(result_?.event).toMatchObject({
      command: 'select pg_sleep(30) as killed_nap; insert into landed values (1)',
      error:
        'interrupted (killed by sa:bootstrap-admin): the target said: canceling statement due to user request',
    });
    expect(detail.body.closeReason).toBe('killed by sa:bootstrap-admin');
  });

  // Last: the gateway goes away.
  it('ends open sessions with 57P01 when the gateway shuts down', async () => {
    const running = psql(adminPort, ['-v', 'VERBOSITY=verbose', '-c', 'select pg_sleep(30) as shutdown_nap']);
    await waitForRunning('shutdown_nap');
    await stack.gateway.cli.stop('SIGTERM');
    const result = await running;
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/FATAL: {2}57P01: tollgate: session ended: the gateway is shutting down/);
  });
});
