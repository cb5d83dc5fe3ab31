import { randomBytes } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import { credentials, Metadata } from '@grpc/grpc-js';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_VERSION, gateCommand, SessionAuditClient } from '@tollgate/agent';
import { DEFAULT_POLICY, parsePolicy, type Policy } from '@tollgate/policy';
import {
  AgentTunnelClient,
  type GatewayMessage,
  type OpenSession,
  type SessionDown,
  type SessionUp,
} from '@tollgate/proto';
import {
  createAgent,
  createTcpConnection,
  createTestDatabase,
  dial,
  loginDevUser,
  spawnCli,
  spawnConnect,
  startTcpTarget,
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
  - name: dbas
    subjects: ['group:dba']
    connections: ['*']
    verbs: [review]
guardrails:
  - name: no-rm
    deny: { commands: ['^rm '], message: 'rm is not allowed here' }
  - name: deletes-need-approval
    require_approval: { commands: ['^delete '], approvers: [group:dba], timeout: 2m }
  - name: truncates-need-quick-approval
    require_approval: { commands: ['^truncate '], approvers: [group:dba], timeout: 2s }
`;

/**
 * A minimal agent speaking the real tunnel protocol, with a line-based engine: each line the client
 * sends is a command, gated by the agent-side policy + audit path (gateCommand, SessionAuditClient)
 * before it is written to a real TCP target.
 */
function startLineAgent(grpcUrl: string, token: string, targetPort: number): { stop(): void } {
  const client = new AgentTunnelClient(new URL(grpcUrl).host, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  // One agent process: the same instance key on its control stream and every session it attaches.
  const instanceKey = randomBytes(32).toString('base64url');
  let enforced: { policy: Policy; version: number } = { policy: DEFAULT_POLICY, version: 0 };
  const control = client.control(metadata);
  control.on('error', () => undefined);
  control.write({
    kind: {
      $case: 'register',
      register: {
        agentVersion: AGENT_VERSION,
        hostname: 'test',
        connectionNames: ['lines'],
        bundleVersion: '',
        instanceKey,
      },
    },
  });
  let heartbeat: NodeJS.Timeout | undefined;
  control.on('data', (message: GatewayMessage) => {
    // Heartbeats as a real agent sends them: without them the gateway ends the stream (and its
    // sessions) after three missed intervals, which a slow run of this file can outlast.
    if (message.kind?.$case === 'registered') {
      heartbeat = setInterval(
        () =>
          control.write({
            kind: { $case: 'heartbeat', heartbeat: { sentAtUnixMs: Date.now(), activeSessions: 0 } },
          }),
        message.kind.registered.heartbeatIntervalMs,
      );
    }
    if (message.kind?.$case === 'bundle') {
      const bundle = message.kind.bundle;
      const parsed = bundle.policyDocument ? parsePolicy(bundle.policyDocument, 'bundle.yaml') : undefined;
      if (parsed?.ok) enforced = { policy: parsed.policy, version: bundle.policyVersion };
      control.write({ kind: { $case: 'bundleAck', bundleAck: { version: bundle.version, error: '' } } });
    }
    if (message.kind?.$case === 'openSession') serve(message.kind.openSession);
  });

  function serve(request: OpenSession): void {
    const stream = client.session(metadata);
    stream.on('error', () => undefined);
    const send = (message: SessionUp) => void (!stream.writableEnded && stream.write(message));
    const toClient = (text: string | Buffer) =>
      send({ kind: { $case: 'frame', frame: { kind: { $case: 'data', data: Buffer.from(text) } } } });
    send({ kind: { $case: 'attach', attach: { sessionId: request.sessionId, instanceKey } } });
    const target: Socket = tcpConnect({ host: '127.0.0.1', port: targetPort });
    const audit = new SessionAuditClient(send, { policyVersion: enforced.version });
    target.once('connect', () =>
      send({ kind: { $case: 'targetResult', targetResult: { result: { $case: 'opened', opened: {} } } } }),
    );
    target.on('data', (data: Buffer) => toClient(data));
    target.on('close', () => stream.end());
    let buffered = '';
    let chain = Promise.resolve();
    const context = {
      subject: { subject: request.context!.subject, groups: request.context!.groups, actorChain: [] },
      connection: { name: request.connectionName, protocol: 'ssh', tags: {} },
      readOnly: false,
    };
    stream.on('data', (message: SessionDown) => {
      if (audit.handle(message)) return;
      if (message.kind?.$case === 'close') return void target.destroy();
      if (message.kind?.$case !== 'frame') return;
      const frame = message.kind.frame;
      if (frame.kind?.$case !== 'data') return void target.end();
      buffered += frame.kind.data.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        chain = chain.then(async () => {
          const verdict = await gateCommand({
            policy: enforced.policy,
            context,
            facts: { kind: 'ssh', command: line },
            text: line,
            audit,
            notify: (notice) => toClient(`NOTICE ${notice}\n`),
          });
          if (verdict.allow) target.write(`${line}\n`);
          else toClient(`ERROR ${verdict.message}\n`);
        });
      }
    });
    stream.on('close', () => {
      audit.close('session ended');
      target.destroy();
    });
  }

  return { stop: () => (clearInterval(heartbeat), control.cancel(), client.close()) };
}

describe('agent-side command gate: durable audit before forwarding, approvals held over the session stream', () => {
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let gateway: TunnelGateway;
  let target: TcpTarget;
  let received = '';
  let dba: string;
  let dbUrl: string;
  let client: Socket;
  let fromTarget = '';
  const tollgate = async (token: string, ...args: string[]) => {
    const cli = spawnCli(args, { TOLLGATE_URL: gateway.httpUrl, TOLLGATE_TOKEN: token });
    const code = await cli.exited();
    return { code, output: cli.output() };
  };
  const waitForClient = (pattern: RegExp) =>
    expect
      .poll(() => fromTarget, { timeout: 15_000 })
      .toMatch(pattern)
      .then(() => fromTarget.match(pattern)!);
  const sql = async (statement: string) => {
    const pg = new Client({ connectionString: dbUrl });
    await pg.connect();
    try {
      await pg.query(statement);
    } finally {
      await pg.end();
    }
  };

  beforeAll(async () => {
    const db = await createTestDatabase();
    dbUrl = db.url;
    cleanups.push(db.drop);
    gateway = await startTunnelGateway(['--dev-idp', '--dev-idp-port', '0'], { DATABASE_URL: db.url });
    processes.push(gateway.cli);
    target = await startTcpTarget((socket) =>
      socket.on('data', (data: Buffer) => {
        received += data.toString();
        socket.write(data);
      }),
    );
    cleanups.push(() => target.close());
    const token = await createAgent(gateway, 'lines-agent');
    await createTcpConnection(gateway, 'lines', target.port, ['lines-agent']);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const agent = startLineAgent(gateway.grpcUrl, token, target.port);
    cleanups.push(() => agent.stop());
    dba = (await loginDevUser(gateway.httpUrl, 'dba')).access_token;
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'lines');
    processes.push(connect.cli);
    client = await dial(connect.port);
    client.on('data', (data: Buffer) => (fromTarget += data.toString()));
  });

  afterAll(async () => {
    client?.destroy();
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('forwards an allowed command once recorded, refuses a denied one without forwarding it', async () => {
    client.write('hello\n');
    await waitForClient(/^hello\n/);
    client.write('rm -rf /\n');
    await waitForClient(/ERROR rm is not allowed here\n/);
    expect(received).toBe('hello\n');
  });

  it('holds a command for review: approved by another user it runs exactly once; rejected it fails and the session goes on', async () => {
    client.write('delete row 1\n');
    const [, id] = await waitForClient(/NOTICE .*review ([0-9a-f-]{36}) \(tollgate reviews approve/);
    expect(received).not.toContain('delete row 1');
    const approved = await tollgate(dba, 'reviews', 'approve', id);
    expect(approved.output).toContain(`review ${id}: approved`);
    await waitForClient(/delete row 1\n$/);
    expect(received.match(/delete row 1/g)).toHaveLength(1);

    client.write('delete row 2\n');
    const reviews = () =>
      [...fromTarget.matchAll(/NOTICE .*review ([0-9a-f-]{36}) \(tollgate/g)].map((m) => m[1]);
    await expect.poll(() => reviews().length, { timeout: 15_000 }).toBe(2);
    const second = reviews()[1];
    const rejected = await tollgate(dba, 'reviews', 'reject', second, '-m', 'not today');
    expect(rejected.output).toContain(`review ${second}: rejected`);
    await waitForClient(new RegExp(`ERROR .*review ${second} was rejected, so the command was not run\\n`));
    expect(received).not.toContain('delete row 2');
    client.write('after\n');
    await waitForClient(/after\n$/);
  });

  it('a held command nobody decides times out with an error, and the session goes on', async () => {
    client.write('truncate logs\n');
    await waitForClient(/ERROR .*review [0-9a-f-]{36} was expired, so the command was not run\n/);
    expect(received).not.toContain('truncate');
    client.write('still on\n');
    await waitForClient(/still on\n$/);
  });

  it('refuses a command the audit log cannot record, and forwards nothing', async () => {
    await sql(`CREATE FUNCTION refuse_command() RETURNS trigger LANGUAGE plpgsql AS $$
                 BEGIN RAISE EXCEPTION 'audit disk full'; END $$;
               CREATE TRIGGER refuse_command BEFORE INSERT ON session_events
                 FOR EACH ROW WHEN (NEW.kind = 'command') EXECUTE FUNCTION refuse_command();`);
    client.write('unrecorded\n');
    await waitForClient(
      /ERROR the audit log could not record the command \(the audit store refused the event\), so it was not run\n/,
    );
    expect(received).not.toContain('unrecorded');
    await sql('DROP TRIGGER refuse_command ON session_events');
    client.write('recorded again\n');
    await waitForClient(/recorded again\n$/);
  });

  it('records every command with its decision in the session chain, which verifies', async () => {
    const list = await tollgate(
      gateway.adminToken,
      'sessions',
      'list',
      '--state',
      'open',
      '--connection',
      'lines',
    );
    const id = /^([0-9a-f-]{36})/m.exec(list.output.split('\n')[1] ?? '')?.[1];
    const shown = await tollgate(gateway.adminToken, 'sessions', 'show', id!);
    const commands = shown.output.split('\n').filter((line) => line.includes(' command '));
    expect(commands.map((line) => line.replace(/^\s*\d+ \S+ /, ''))).toEqual([
      'command ALLOW "hello"',
      'command DENY "rm -rf /" (rule no-rm)',
      expect.stringMatching(/^command ALLOW "delete row 1" \(rule deletes-need-approval\)$/),
      expect.stringMatching(/^command DENY "delete row 2" \(rule deletes-need-approval\)$/),
      'command ALLOW "after"',
      'command DENY "truncate logs" (rule truncates-need-quick-approval)',
      'command ALLOW "still on"',
      'command ALLOW "recorded again"',
    ]);
    const verified = await tollgate(gateway.adminToken, 'audit', 'verify');
    expect(verified.output).toContain('audit log intact');
  });
});
