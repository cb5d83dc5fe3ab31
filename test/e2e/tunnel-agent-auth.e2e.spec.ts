import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  dial,
  readAll,
  serviceAccountToken,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startEchoStack,
  startTunnelGateway,
  type CliProcess,
  type EchoStack,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';

/** The pino `time` of the first log line matching `msg`. */
function logTime(output: string, msg: string): number {
  const line = output.split('\n').find((l) => l.includes(`"msg":"${msg}"`));
  if (!line) throw new Error(`no "${msg}" line in:\n${output}`);
  return (JSON.parse(line) as { time: number }).time;
}

describe('agent identity: tokens, rejection, revocation (real processes)', () => {
  let stack: EchoStack | undefined;
  let processes: CliProcess[];
  let gateway: TunnelGateway;
  let echo: TcpTarget;
  let dbUrl: string;

  beforeAll(async () => {
    stack = await startEchoStack();
    ({ gateway, echo, processes, databaseUrl: dbUrl } = stack);
  });

  afterAll(() => stack?.stop());

  it('rejects an unknown token: the agent exits 1 and the gateway logs the rejection', async () => {
    const agent = await spawnAgent(gateway.grpcUrl, `tga_${'x'.repeat(43)}`, { waitOnline: false });
    processes.push(agent);
    expect(await agent.exited()).toBe(1);
    expect(agent.output()).toContain('unknown agent token');
    await gateway.cli.waitFor(
      /"tokenPrefix":"tga_xxxxxxxx".*"reason":"unknown agent token".*agent authentication rejected/,
    );
  });

  it('rejects an expired token', async () => {
    const token = await createAgent(gateway, 'expiring');
    const pg = new Client({ connectionString: dbUrl });
    await pg.connect();
    try {
      await pg.query(
        `UPDATE agent_tokens SET expires_at = now() - interval '1 second'
         WHERE agent_id = (SELECT id FROM agents WHERE name = 'expiring')`,
      );
    } finally {
      await pg.end();
    }
    const agent = await spawnAgent(gateway.grpcUrl, token, { waitOnline: false });
    processes.push(agent);
    expect(await agent.exited()).toBe(1);
    expect(agent.output()).toContain('agent token expired');
  });

  it('does not route a session to an agent the connection is not assigned to', async () => {
    const assignedToken = await createAgent(gateway, 'assigned');
    const otherToken = await createAgent(gateway, 'other');
    void assignedToken; // "assigned" never runs: the connection has no online agent
    await createTcpConnection(gateway, 'only-assigned', echo.port, ['assigned']);
    const other = await spawnAgent(gateway.grpcUrl, otherToken);
    processes.push(other);
    const acceptedBefore = echo.accepted();

    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'only-assigned');
    processes.push(connect.cli);
    const result = await readAll(await dial(connect.port));
    expect(result.error).toBe('ECONNRESET');
    await connect.cli.waitFor(
      /only-assigned: agent offline: no agent serving "only-assigned" is online/,
      10_000,
    );
    expect(echo.accepted()).toBe(acceptedBefore);
    expect(other.output()).not.toContain('session open');
  });

  it('revocation cuts the live control stream and its sessions within 1 s; the agent stops', async () => {
    const token = await createAgent(gateway, 'revoked');
    await createTcpConnection(gateway, 'echo-revoked', echo.port, ['revoked']);
    const agent = await spawnAgent(gateway.grpcUrl, token);
    processes.push(agent);
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo-revoked');
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    const received = readAll(socket);
    socket.write('ping');
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));

    const tokens = await gateway.api<{ items: { prefix: string }[] }>('GET', '/api/v1/agents/revoked/tokens');
    const prefix = tokens.body.items[0].prefix;
    const revokedAt = Date.now();
    const revoke = await gateway.api<{ status: string }>(
      'POST',
      `/api/v1/agents/revoked/tokens/${prefix}/revoke`,
    );
    expect(revoke.status).toBe(200);
    expect(revoke.body.status).toBe('revoked');

    expect(await agent.exited()).toBe(1);
    expect(
      logTime(agent.output(), 'the gateway rejected this agent; not reconnecting') - revokedAt,
    ).toBeLessThan(1000);
    expect((await received).data.toString()).toBe('ping');
    await connect.cli.waitFor(/ended: .*(revoked|disconnected)/, 10_000);
    const after = await gateway.api<{ status: string }>('GET', '/api/v1/agents/revoked');
    expect(after.body.status).toBe('offline');

    // The same token cannot come back.
    const again = await spawnAgent(gateway.grpcUrl, token, { waitOnline: false });
    processes.push(again);
    expect(await again.exited()).toBe(1);
    expect(again.output()).toContain('agent token revoked');
  });

  it('a revocation made through another gateway replica cuts the stream within 1 s too', async () => {
    const token = await createAgent(gateway, 'cross-replica');
    const agent = await spawnAgent(gateway.grpcUrl, token);
    processes.push(agent);
    const other = await startTunnelGateway([], { DATABASE_URL: dbUrl });
    processes.push(other.cli);
    const tokens = await other.api<{ items: { prefix: string }[] }>(
      'GET',
      '/api/v1/agents/cross-replica/tokens',
    );
    const revokedAt = Date.now();
    const revoke = await other.api(
      'POST',
      `/api/v1/agents/cross-replica/tokens/${tokens.body.items[0].prefix}/revoke`,
    );
    expect(revoke.status).toBe(200);
    expect(await agent.exited()).toBe(1);
    expect(
      logTime(agent.output(), 'the gateway rejected this agent; not reconnecting') - revokedAt,
    ).toBeLessThan(1000);
  });

  it('`tollgate admin agents` creates (token printed once), lists, and rotates with --revoke-old', async () => {
    const env = { TOLLGATE_URL: gateway.httpUrl, TOLLGATE_TOKEN: gateway.adminToken };
    const run = async (args: string[]) => {
      const cli = spawnCli(['admin', 'agents', ...args], env);
      processes.push(cli);
      expect(await cli.exited()).toBe(0);
      return cli.output();
    };
    const created = await run(['create', 'rotating']);
    const first = /tga_[A-Za-z0-9_-]{43}/.exec(created)?.[0];
    expect(first).toBeDefined();
    await createTcpConnection(gateway, 'echo-rotating', echo.port, ['rotating']);
    const agent = await spawnAgent(gateway.grpcUrl, first!);
    processes.push(agent);
    expect(await run(['list'])).toMatch(/rotating\s+online\s+\S+\s+\d+\.\d+\.\d+/);

    const rotated = await run(['rotate-token', 'rotating', '--revoke-old']);
    const second = /tga_[A-Za-z0-9_-]{43}/.exec(rotated)?.[0];
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect(await agent.exited()).toBe(1);
    const replacement = await spawnAgent(gateway.grpcUrl, second!);
    processes.push(replacement);
    const tokens = await run(['revoke-token', 'rotating']);
    expect(tokens).toMatch(/revoked/);
    expect(tokens).toMatch(/active/);
  });

  it('a caller without the connect right is denied with the reason; a bad token is rejected; sessions are recorded', async () => {
    const token = await createAgent(gateway, 'policy-agent');
    await createTcpConnection(gateway, 'echo-policy', echo.port, ['policy-agent']);
    processes.push(await spawnAgent(gateway.grpcUrl, token));

    const account = await gateway.api<{ clientSecret: string }>('POST', '/api/v1/service-accounts', {
      name: 'no-rights',
      groups: [],
    });
    expect(account.status).toBe(201);
    const { access_token: weakToken } = await serviceAccountToken(
      gateway.httpUrl,
      'no-rights',
      account.body.clientSecret,
    );
    const denied = await spawnConnect(gateway.grpcUrl, weakToken, 'echo-policy');
    processes.push(denied.cli);
    const acceptedBefore = echo.accepted();
    expect((await readAll(await dial(denied.port))).error).toBe('ECONNRESET');
    await denied.cli.waitFor(/echo-policy: denied: .+/, 10_000);
    expect(echo.accepted()).toBe(acceptedBefore);

    const forged = await spawnConnect(gateway.grpcUrl, 'not-a-real-token', 'echo-policy');
    processes.push(forged.cli);
    expect((await readAll(await dial(forged.port))).error).toBe('ECONNRESET');
    await forged.cli.waitFor(/echo-policy: invalid token/, 10_000);
    expect(echo.accepted()).toBe(acceptedBefore);

    const allowed = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo-policy');
    processes.push(allowed.cli);
    const socket = await dial(allowed.port);
    const received = readAll(socket);
    socket.end('recorded');
    expect((await received).data.toString()).toBe('recorded');
    const sessionId = (await allowed.cli.waitFor(/session (\S+) closed/, 10_000))[1];
    const pg = new Client({ connectionString: dbUrl });
    await pg.connect();
    try {
      let row: { state: string; subject: string; agent: string | null; close_reason: string } | undefined;
      const deadline = Date.now() + 10_000;
      while ((!row || row.state !== 'closed') && Date.now() < deadline) {
        const result = await pg.query<NonNullable<typeof row>>(
          `SELECT s.state, s.subject, a.name AS agent, s.close_reason FROM sessions s
           LEFT JOIN agents a ON a.id = s.agent_id WHERE s.id = $1`,
          [sessionId],
        );
        row = result.rows[0];
        if (row?.state !== 'closed') await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(row).toMatchObject({ state: 'closed', subject: 'sa:bootstrap-admin', agent: 'policy-agent' });
    } finally {
      await pg.end();
    }
  });
});
