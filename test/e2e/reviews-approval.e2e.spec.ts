import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  createTestDatabase,
  dial,
  echoTarget,
  loginDevUser,
  readAll,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startTunnelGateway,
  type CliProcess,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
  - name: dbas-review-echo
    subjects: ['group:dba']
    connections: [echo, echo-audited]
    verbs: [review]
access_requests:
  - name: developer-jit
    requesters: [group:developers, group:auditors]
    connections: [echo, echo-unreviewed, echo-audited]
    verbs: [connect]
    reviewers: [group:dba]
    max_duration: 1h
`;

const SECRET = 'review-webhook-secret-0123456789';

interface Hook {
  body: string;
  timestamp: string;
  signature: string;
}

describe('just-in-time access: a developer asks, a DBA approves (two real users, real CLI)', () => {
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  const hooks: Hook[] = [];
  let gateway: TunnelGateway;
  let echo: TcpTarget;
  let developer: string;
  let dba: string;
  let storeUrl: string;
  /** Runs SQL on the gateway's own store. */
  const onStore = async (sql: string) => {
    const client = new Client({ connectionString: storeUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  const as = async (token: string, ...args: string[]) => {
    const cli = spawnCli(args, { TOLLGATE_URL: gateway.httpUrl, TOLLGATE_TOKEN: token });
    const code = await cli.exited();
    return { code, output: cli.output() };
  };
  /** Sends a line through `tollgate connect` as the developer; the echo comes back only if allowed. */
  const echoAsDeveloper = async (connection = 'echo') => {
    const connect = await spawnConnect(gateway.grpcUrl, developer, connection);
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    const received = readAll(socket);
    socket.end('hello\n');
    const { data } = await received;
    await connect.cli.stop('SIGTERM');
    return { data: data.toString(), log: connect.cli.output() };
  };

  beforeAll(async () => {
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        hooks.push({
          body,
          timestamp: String(req.headers['x-tollgate-timestamp']),
          signature: String(req.headers['x-tollgate-signature']),
        });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => receiver.close(resolve)));
    const address = receiver.address();
    const hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;

    const db = await createTestDatabase();
    storeUrl = db.url;
    cleanups.push(db.drop);
    gateway = await startTunnelGateway(['--dev-idp', '--dev-idp-port', '0'], {
      DATABASE_URL: db.url,
      TOLLGATE_REVIEW_WEBHOOK_URL: hookUrl,
      TOLLGATE_WEBHOOK_SECRET: SECRET,
    });
    processes.push(gateway.cli);
    echo = await echoTarget();
    cleanups.push(() => echo.close());
    const token = await createAgent(gateway, 'edge-1');
    await createTcpConnection(gateway, 'echo', echo.port, ['edge-1']);
    await createTcpConnection(gateway, 'echo-unreviewed', echo.port, ['edge-1']);
    await createTcpConnection(gateway, 'echo-audited', echo.port, ['edge-1']);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    processes.push(await spawnAgent(gateway.grpcUrl, token));
    developer = (await loginDevUser(gateway.httpUrl, 'developer')).access_token;
    dba = (await loginDevUser(gateway.httpUrl, 'dba')).access_token;
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('denies before, grants after a DBA approves; nobody approves their own request', async () => {
    const before = await echoAsDeveloper();
    expect(before.data).toBe('');

    const requested = await as(
      developer,
      'reviews',
      'request',
      'echo',
      '--duration',
      '10m',
      '--reason',
      'incident 42',
    );
    expect(requested.code).toBe(0);
    const id = /access request ([0-9a-f-]{36}) is pending; reviewers: group:dba \(1 needed\)/.exec(
      requested.output,
    )?.[1];
    expect(id).toBeDefined();

    const own = await as(developer, 'reviews', 'approve', id!);
    expect(own.code).toBe(1);
    expect(own.output).toContain('nobody may review their own request');

    const listed = await as(dba, 'reviews', 'list');
    expect(listed.output).toMatch(
      new RegExp(
        `${id}\\s+access\\s+pending\\s+developer@tollgate\\.test\\s+echo\\s+connect 600s: incident 42`,
      ),
    );

    const approved = await as(dba, 'reviews', 'approve', id!, '-m', 'ok for the incident');
    expect(approved.code).toBe(0);
    expect(approved.output).toMatch(new RegExp(`review ${id}: approved \\(access until \\S+\\)`));
    const again = await as(dba, 'reviews', 'approve', id!);
    expect(again.output).toContain('is already approved');

    const after = await echoAsDeveloper();
    expect(after.data).toBe('hello\n');
  });

  it('a reviewer the rule names cannot decide without the review verb on the connection', async () => {
    // group:dba is among the rule's reviewers, but no role grants it `review` on echo-unreviewed.
    const requested = await as(
      developer,
      'reviews',
      'request',
      'echo-unreviewed',
      '--duration',
      '10m',
      '--reason',
      'incident 43',
    );
    const id = /access request ([0-9a-f-]{36}) is pending/.exec(requested.output)?.[1];
    expect(id).toBeDefined();
    const approved = await as(dba, 'reviews', 'approve', id!);
    expect(approved.code).toBe(1);
    expect(approved.output).toContain('no role grants review on echo-unreviewed');
    const rejected = await as(dba, 'reviews', 'reject', id!);
    expect(rejected.code).toBe(1);
    // Nor see it: who asked for what, and why, is for those who may decide it.
    const listed = await as(dba, 'reviews', 'list');
    expect(listed.code).toBe(0);
    expect(listed.output).not.toContain(id!);
    const shown = await fetch(`${gateway.httpUrl}/api/v1/reviews/${id!}`, {
      headers: { authorization: `Bearer ${dba}` },
    });
    expect(shown.status).toBe(404);
    // The requester sees it still pending, with no decision counted.
    const review = await fetch(`${gateway.httpUrl}/api/v1/reviews/${id!}`, {
      headers: { authorization: `Bearer ${developer}` },
    });
    expect(await review.json()).toMatchObject({ state: 'pending', decisions: [] });
    expect((await echoAsDeveloper('echo-unreviewed')).data).toBe('');
  });

  it('an approval the audit log cannot record does not take effect', async () => {
    const requested = await as(
      developer,
      'reviews',
      'request',
      'echo-audited',
      '--duration',
      '10m',
      '--reason',
      'incident 44',
    );
    const id = /access request ([0-9a-f-]{36}) is pending/.exec(requested.output)?.[1];
    expect(id).toBeDefined();
    await onStore(`CREATE OR REPLACE FUNCTION refuse_approval() RETURNS trigger LANGUAGE plpgsql AS $$
                     BEGIN RAISE EXCEPTION 'audit disk full'; END $$;
                   CREATE TRIGGER refuse_approval BEFORE INSERT ON audit_entries
                     FOR EACH ROW WHEN (NEW.action = 'review:approve') EXECUTE FUNCTION refuse_approval();`);
    try {
      const approved = await as(dba, 'reviews', 'approve', id!);
      expect(approved.code).toBe(1);
      const review = await fetch(`${gateway.httpUrl}/api/v1/reviews/${id!}`, {
        headers: { authorization: `Bearer ${developer}` },
      });
      expect(await review.json()).toMatchObject({ state: 'pending', decisions: [] });
      expect((await echoAsDeveloper('echo-audited')).data).toBe('');
    } finally {
      await onStore('DROP TRIGGER IF EXISTS refuse_approval ON audit_entries');
    }
    // Recorded, it is made.
    expect((await as(dba, 'reviews', 'approve', id!)).output).toContain(`review ${id!}: approved`);
    expect((await echoAsDeveloper('echo-audited')).data).toBe('hello\n');
  });

  it('a session opened under a grant ends by itself when the grant expires', async () => {
    const auditor = (await loginDevUser(gateway.httpUrl, 'auditor')).access_token;
    const requested = await as(
      auditor,
      'reviews',
      'request',
      'echo',
      '--duration',
      '8s',
      '--reason',
      'quick look',
    );
    const id = /access request ([0-9a-f-]{36})/.exec(requested.output)?.[1];
    expect((await as(dba, 'reviews', 'approve', id!)).output).toContain('approved');
    const connect = await spawnConnect(gateway.grpcUrl, auditor, 'echo');
    processes.push(connect.cli);
    const socket = await dial(connect.port);
    const received = readAll(socket);
    socket.write('still here\n');
    // The client never closes: the gateway ends the session when the grant runs out.
    const { data } = await received;
    expect(data.toString()).toBe('still here\n');
    const closeReasons = async () =>
      (
        await gateway.api<{ items: { closeReason: string }[] }>(
          'GET',
          '/api/v1/sessions?state=closed&connection=echo',
        )
      ).body.items.map((s) => s.closeReason);
    await expect
      .poll(closeReasons, { timeout: 10_000 })
      .toContain('the session reached its maximum duration (or its access grant expired)');
  });

  it('tells reviewers through a signed, Slack-compatible webhook', async () => {
    await expect.poll(() => hooks.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    for (const hook of hooks) {
      const expected = createHmac('sha256', SECRET).update(`${hook.timestamp}.${hook.body}`).digest('hex');
      expect(hook.signature).toBe(`sha256=${expected}`);
    }
    const [request, decision] = hooks.map(
      (h) => JSON.parse(h.body) as { text: string; review: { id: string } },
    );
    expect(request.text).toMatch(/asks for connect on echo for 600s: "incident 42"/);
    expect(request.text).toContain(`tollgate reviews approve ${request.review.id}`);
    expect(decision.text).toContain('is approved');
  });
});
