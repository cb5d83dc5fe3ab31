import { spawn } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { Metadata, credentials } from '@grpc/grpc-js';
import {
  ClientTunnelWireClient,
  SessionVerb,
  type ClientDown,
  type ClientUp,
  type StreamFrame,
} from '@tollgate/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTestDatabase,
  serviceAccountToken,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startPostgresCluster,
  startTunnelGateway,
  TEST_BOOTSTRAP_ADMIN_SECRET,
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
  - name: connectors
    subjects: ['sa:connector']
    connections: [pg-app]
    verbs: [connect]
  - name: executors
    subjects: ['sa:executor']
    connections: [pg-app]
    verbs: [exec]
  - name: both
    subjects: ['sa:both']
    connections: [pg-app]
    verbs: [connect, exec]
access_requests:
  - name: on-call
    requesters: ['sa:requester']
    connections: [pg-app]
    verbs: [connect, exec]
    reviewers: ['group:tollgate-admins']
`;

interface AuditItem {
  subject: string;
  action: string;
  target: string | null;
  decision: string;
  reason: string | null;
}

interface SessionItem {
  id: string;
  subject: string;
  verb: string;
  state: string;
  closeReason: string | null;
}

/**
 * Each verb authorizes what it does: `tollgate exec` is `exec` (roles, token scopes, just-in-time
 * grants, audit records), `tollgate connect` and psql are `connect`, and a session opened for one
 * verb cannot be used as the other.
 */
describe('connect and exec are separate verbs, end to end', () => {
  let cluster: PostgresCluster;
  let gateway: TunnelGateway;
  const secrets = new Map<string, string>();
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];

  const tokenOf = async (account: string, scope?: string) =>
    (await serviceAccountToken(gateway.httpUrl, account, secrets.get(account) as string, scope)).access_token;

  const exec = async (token: string, sql: string) => {
    const cli = spawnCli(['exec', 'pg-app', '--grpc', gateway.grpcUrl, '--format', 'csv', '-c', sql], {
      TOLLGATE_TOKEN: token,
    });
    return { code: await cli.exited(), output: cli.output() };
  };

  const psql = (port: number, args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(
        'psql',
        ['-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', 'app', '-X', '-At', ...args],
        { env: { ...process.env, PGPASSWORD: '', PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '20' } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      child.stdin.end();
    });

  /** psql -c 'select 1' through a `tollgate connect --port 0` holding `token`. */
  const psqlThroughConnect = async (token: string) => {
    const connect = await spawnConnect(gateway.grpcUrl, token, 'pg-app');
    processes.push(connect.cli);
    try {
      return await psql(connect.port, ['-c', 'select 1']);
    } finally {
      await connect.cli.stop('SIGINT');
    }
  };

  const audit = (action: string, subject: string) => gateway.auditRecords<AuditItem>(action, { subject });

  const sessionsOf = async (subject: string) =>
    (
      await gateway.api<{ items: SessionItem[] }>(
        'GET',
        `/api/v1/sessions?subject=${encodeURIComponent(subject)}`,
      )
    ).body.items;

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    cleanups.push(() => cluster.stop());
    cluster.sql('CREATE TABLE notes (id int); ALTER TABLE notes OWNER TO tg_scram;', 'app');
    const store = await createTestDatabase();
    cleanups.push(store.drop);
    gateway = await startTunnelGateway([], { DATABASE_URL: store.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    for (const name of ['connector', 'executor', 'both', 'requester']) {
      const created = await gateway.api<{ clientSecret: string }>('POST', '/api/v1/service-accounts', {
        name,
      });
      expect(created.status).toBe(201);
      secrets.set(name, created.body.clientSecret);
    }
    const agentToken = await createAgent(gateway, 'edge-pg');
    const created = await gateway.api('POST', '/api/v1/connections', {
      name: 'pg-app',
      protocol: 'postgres',
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
    processes.push(
      await spawnAgent(gateway.grpcUrl, agentToken, { env: { APP_DB_PASSWORD: cluster.password } }),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('a token scoped connect:pg-app serves psql through connect, and exec refuses it', async () => {
    const token = await tokenOf('both', 'connect:pg-app');
    const connect = await spawnConnect(gateway.grpcUrl, token, 'pg-app');
    processes.push(connect.cli);
    expect(await psql(connect.port, ['-c', 'select 40 + 2'])).toMatchObject({ code: 0, stdout: '42\n' });

    const refused = await exec(token, 'select 1');
    expect(refused.code).toBe(1);
    expect(refused.output).toBe(
      'tollgate exec: pg-app: denied: the token\'s scope (connect:pg-app) does not include exec on connection "pg-app"\n',
    );
    const records = await audit('authorize:exec', 'sa:both');
    expect(records.map((r) => [r.target, r.decision])).toEqual([['connection:pg-app', 'deny']]);
    expect(records[0]?.reason).toContain('connect:pg-app');
    await connect.cli.stop('SIGINT');
  });

  it('a token scoped exec:pg-app runs tollgate exec, and connect (and psql behind it) refuses it', async () => {
    const token = await tokenOf('both', 'exec:pg-app');
    expect(await exec(token, 'select 6 * 7 as answer')).toEqual({ code: 0, output: 'answer\r\n42\r\n' });

    const early = spawnCli(['connect', 'pg-app', '--grpc', gateway.grpcUrl], {
      TOLLGATE_TOKEN: token,
      TOLLGATE_URL: gateway.httpUrl,
    });
    expect(await early.exited()).toBe(1);
    expect(early.output()).toMatch(
      /^tollgate connect: pg-app: denied: the token's scope \(exec:pg-app\) does not include connect/,
    );

    const listening = await spawnConnect(gateway.grpcUrl, token, 'pg-app');
    processes.push(listening.cli);
    const result = await psql(listening.port, ['-c', 'select 1']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/FATAL: {2}tollgate: .*does not include connect on connection "pg-app"/);
    expect(result.stdout).toBe('');
    await listening.cli.stop('SIGINT');
  });

  it('roles grant each verb on its own: an exec-only role cannot connect, a connect-only role cannot exec', async () => {
    const executor = await tokenOf('executor');
    expect(await exec(executor, 'select 1 as one')).toEqual({ code: 0, output: 'one\r\n1\r\n' });
    expect((await psqlThroughConnect(executor)).stderr).toMatch(
      /FATAL: {2}tollgate: .*no role grants connect on pg-app to sa:executor/,
    );

    const connector = await tokenOf('connector');
    const refused = await exec(connector, 'select 1');
    expect(refused).toEqual({
      code: 1,
      output: 'tollgate exec: pg-app: denied: no role grants exec on pg-app to sa:connector (no groups)\n',
    });

    // The audit names the verb that was decided, for each attempt.
    expect(await audit('authorize:exec', 'sa:executor')).toEqual([
      expect.objectContaining({
        decision: 'allow',
        target: 'connection:pg-app',
        reason: 'allowed by role executors',
      }),
    ]);
    expect(await audit('authorize:connect', 'sa:executor')).toEqual([
      expect.objectContaining({ decision: 'deny', target: 'connection:pg-app' }),
    ]);
    expect(await audit('authorize:exec', 'sa:connector')).toEqual([
      expect.objectContaining({ decision: 'deny' }),
    ]);
  });

  it('records an exec session as exec, and it closes as a normal end', async () => {
    const sessions = await sessionsOf('sa:executor');
    expect(sessions).toEqual([expect.objectContaining({ verb: 'exec' })]);
    await expect
      .poll(async () => (await sessionsOf('sa:executor'))[0]?.state, { timeout: 10_000 })
      .toBe('closed');
    const detail = (
      await gateway.api<{ closeReason: string; events: { kind: string; event: Record<string, unknown> }[] }>(
        'GET',
        `/api/v1/sessions/${sessions[0]?.id}`,
      )
    ).body;
    expect(detail.events[0]?.event).toMatchObject({ type: 'session.open', verb: 'exec' });
    // Its statement's events come from the agent's journal and may land after the close (edge audit).
    expect(detail.events.find((e) => e.kind === 'session.close')?.event).toMatchObject({
      type: 'session.close',
      reason: 'normal',
    });
    expect(detail.closeReason).not.toMatch(/lost/);
  });

  it('a just-in-time grant for exec lets the requester exec, not connect', async () => {
    const requester = await tokenOf('requester');
    expect((await exec(requester, 'select 1')).output).toMatch(/denied: no role grants exec on pg-app/);
    const request = spawnCli(
      ['reviews', 'request', 'pg-app', '--verb', 'exec', '--duration', '10m', '--reason', 'incident 7'],
      { TOLLGATE_TOKEN: requester, TOLLGATE_URL: gateway.httpUrl },
    );
    expect(await request.exited()).toBe(0);
    const reviewId = /([0-9a-f]{8}-[0-9a-f-]{27})/.exec(request.output())?.[1] as string;
    // A reviewer's token narrowed to other verbs cannot decide a review.
    const narrowed = await serviceAccountToken(
      gateway.httpUrl,
      'bootstrap-admin',
      TEST_BOOTSTRAP_ADMIN_SECRET,
      'admin audit:read',
    );
    const refusedApproval = spawnCli(['reviews', 'approve', reviewId], {
      TOLLGATE_TOKEN: narrowed.access_token,
      TOLLGATE_URL: gateway.httpUrl,
    });
    expect(await refusedApproval.exited()).toBe(1);
    expect(refusedApproval.output()).toContain(
      "the token's scope (admin audit:read) does not include review",
    );
    const approve = spawnCli(['reviews', 'approve', reviewId], {
      TOLLGATE_TOKEN: gateway.adminToken,
      TOLLGATE_URL: gateway.httpUrl,
    });
    expect(await approve.exited()).toBe(0);

    expect(await exec(requester, 'select 2 as two')).toEqual({ code: 0, output: 'two\r\n2\r\n' });
    expect((await psqlThroughConnect(requester)).stderr).toMatch(
      /FATAL: {2}tollgate: .*no role grants connect on pg-app to sa:requester/,
    );
    const allowed = (await audit('authorize:exec', 'sa:requester')).filter((r) => r.decision === 'allow');
    expect(allowed.map((r) => r.reason)).toEqual([expect.stringMatching(/^allowed by access grant /)]);
  });

  describe('a session opened as exec is held to one query by the agent', () => {
    let bridge: Server;
    let bridgePort: number;
    let bridgeToken: string;
    const bridgeVerb: { verb: SessionVerb } = { verb: SessionVerb.EXEC };

    beforeAll(async () => {
      bridgeToken = await tokenOf('both');
      const client = new ClientTunnelWireClient(
        gateway.grpcUrl.replace(/^http:\/\//, ''),
        credentials.createInsecure(),
      );
      cleanups.push(() => client.close());
      // A hand-made client: what `tollgate exec` opens (verb EXEC), with psql behind it as if it
      // were `tollgate connect`.
      bridge = createServer((socket) => void bridgeSocket(client, socket, bridgeToken, bridgeVerb.verb));
      await new Promise<void>((resolve) => bridge.listen(0, '127.0.0.1', resolve));
      bridgePort = (bridge.address() as { port: number }).port;
      cleanups.push(() => new Promise((resolve) => bridge.close(resolve)));
    });

    it('ends the session with FATAL 42501 when the client sends a second query', async () => {
      const result = await psql(bridgePort, ['-c', 'select 1', '-c', 'insert into notes values (1)']);
      expect(result.stdout).toBe('1\n');
      expect(result.stderr).toContain(
        'FATAL:  an exec session runs one query; use `tollgate connect` for an interactive session',
      );
      expect(cluster.sql('select count(*) from notes', 'app').trim()).toBe('0');
    });

    it('refuses an exec open from a principal that may only connect', async () => {
      bridgeToken = await tokenOf('connector');
      const result = await psql(bridgePort, ['-c', 'select 1']);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('no role grants exec on pg-app to sa:connector');
    });
  });
});

/** Relays one socket over a ClientTunnel session opened for `verb`; a refusal is answered as FATAL. */
async function bridgeSocket(
  client: ClientTunnelWireClient,
  socket: Socket,
  token: string,
  verb: SessionVerb,
): Promise<void> {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const call = client.open(metadata);
  call.on('error', () => socket.destroy());
  call.write({
    kind: {
      $case: 'openRequest',
      openRequest: { connectionName: 'pg-app', clientAddr: 'test bridge', clientVersion: '0.0.0', verb },
    },
  } satisfies ClientUp);
  const frame = (f: StreamFrame): ClientUp => ({ kind: { $case: 'frame', frame: f } });
  let opened = false;
  call.on('data', (message: ClientDown) => {
    if (message.kind?.$case === 'openResult') {
      const result = message.kind.openResult.result;
      if (result?.$case === 'opened') {
        opened = true;
        socket.on('data', (data: Buffer) => call.write(frame({ kind: { $case: 'data', data } })));
        socket.on('end', () => call.write(frame({ kind: { $case: 'halfClose', halfClose: {} } })));
        socket.resume();
      } else {
        // psql's first read is the answer to its start-up: a FATAL ErrorResponse with the reason.
        const text = `tollgate: ${result?.$case === 'failed' ? result.failed.message : 'failed'}`;
        const fields = Buffer.from(`SFATAL\0C28000\0M${text}\0\0`);
        const header = Buffer.alloc(5);
        header.write('E', 0);
        header.writeInt32BE(fields.length + 4, 1);
        socket.once('data', () => socket.end(Buffer.concat([header, fields])));
        socket.resume();
      }
      return;
    }
    if (message.kind?.$case === 'frame') {
      const f = message.kind.frame.kind;
      if (f?.$case === 'data') socket.write(f.data);
      else if (f?.$case === 'halfClose') socket.end();
      else if (f?.$case === 'reset') socket.destroy();
    }
  });
  call.on('end', () => (opened ? socket.end() : undefined));
  socket.pause();
  socket.on('close', () => call.end());
}
