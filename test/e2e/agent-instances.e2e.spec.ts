import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { credentials, Metadata, status as GrpcStatus, type StatusObject } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_VERSION } from '@tollgate/agent';
import { AgentTunnelClient, type GatewayMessage, type OpenSession } from '@tollgate/proto';
import {
  createAgent,
  createTcpConnection,
  dial,
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

interface InstanceInfo {
  instanceId: string;
  hostname: string;
  address: string;
  version: string;
  replica: string;
}

interface AuditRecord {
  seq: string;
  subject: string;
  actorChain: { subject: string }[];
  action: string;
  target: string | null;
  decision: string;
  reason: string | null;
  payload: {
    instanceId?: string;
    tokenPrefix?: string;
    agent?: string;
    holder?: InstanceInfo;
    contender?: InstanceInfo;
  };
}

/** Any loopback peer address (ip:port). */
const LOOPBACK_PEER: unknown = expect.stringMatching(/^127\.0\.0\.1:\d+$/);

const CONFLICT = 'another instance of this agent is connected; this one is refused while that one is alive';

/** The pino `time` of every log line with this message. */
function logTimes(output: string, msg: string): number[] {
  return output
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => (JSON.parse(line) as { time: number }).time);
}

/** The instance id an agent process registered as (from its log). */
async function registeredInstance(agent: CliProcess, timeoutMs?: number): Promise<string> {
  return (await agent.waitFor(/"instance":"([0-9a-f]{24})"[^\n]*"msg":"agent registered"/, timeoutMs))[1];
}

/** The instance id a refused agent process was told it is. */
async function refusedInstance(agent: CliProcess): Promise<string> {
  return (await agent.waitFor(/this instance \(([0-9a-f]{24})\) is refused/, 20_000))[1];
}

async function openEchoSession(port: number): Promise<Socket> {
  const socket = await dial(port);
  socket.on('error', () => undefined);
  await roundTrip(socket, 'hello');
  return socket;
}

/** Writes `text` and expects it echoed within 15 s (a session that went nowhere fails here, named). */
async function roundTrip(socket: Socket, text: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const echoed = new Promise<string>((resolve, reject) => {
    socket.once('data', (d: Buffer) => resolve(d.toString()));
    timer = setTimeout(() => reject(new Error(`no echo of ${JSON.stringify(text)} within 15 s`)), 15_000);
  });
  socket.write(text);
  try {
    expect(await echoed).toBe(text);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An agent speaking the tunnel protocol from the test itself, so the test knows its instance key
 * and sees the sessions offered to it: what a process that stole another agent's session id would
 * send.
 */
function rawAgent(grpcUrl: string, token: string) {
  const client = new AgentTunnelClient(new URL(grpcUrl).host, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const instanceKey = randomBytes(32).toString('base64url');
  const control = client.control(metadata);
  control.on('error', () => undefined);
  const offers: OpenSession[] = [];
  let wake: (() => void) | undefined;
  let onRegistered: () => void = () => undefined;
  const registered = new Promise<void>((resolve) => (onRegistered = resolve));
  let heartbeat: NodeJS.Timeout | undefined;
  control.on('data', (message: GatewayMessage) => {
    switch (message.kind?.$case) {
      case 'registered':
        heartbeat = setInterval(
          () =>
            control.write({
              kind: { $case: 'heartbeat', heartbeat: { sentAtUnixMs: Date.now(), activeSessions: 0 } },
            }),
          message.kind.registered.heartbeatIntervalMs,
        );
        return onRegistered();
      case 'bundle':
        return void control.write({
          kind: { $case: 'bundleAck', bundleAck: { version: message.kind.bundle.version, error: '' } },
        });
      case 'openSession':
        offers.push(message.kind.openSession);
        return wake?.();
      default:
        return;
    }
  });
  control.write({
    kind: {
      $case: 'register',
      register: {
        agentVersion: AGENT_VERSION,
        hostname: 'raw',
        connectionNames: [],
        bundleVersion: '',
        instanceKey,
      },
    },
  });
  return {
    registered,
    async nextOffer(): Promise<OpenSession> {
      while (offers.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      return offers.shift()!;
    },
    refuse(sessionId: string): void {
      control.write({
        kind: { $case: 'sessionRefused', sessionRefused: { sessionId, code: 0, message: 'test agent' } },
      });
    },
    /** Attaches a Session stream to `sessionId` as this instance; resolves with the stream's status. */
    attach(sessionId: string): Promise<StatusObject> {
      const stream = client.session(metadata);
      stream.on('error', () => undefined);
      const status = new Promise<StatusObject>((resolve) => stream.on('status', resolve));
      stream.write({ kind: { $case: 'attach', attach: { sessionId, instanceKey } } });
      return status;
    },
    stop(): void {
      clearInterval(heartbeat);
      control.cancel();
      client.close();
    },
  };
}

describe('one live instance per agent; agent identity in the audit log (real processes)', () => {
  let stack: EchoStack | undefined;
  let processes: CliProcess[];
  let gateway: TunnelGateway;
  let echo: TcpTarget;
  let receiver: Server;
  const delivered: AuditRecord[] = [];
  let token: string;
  let connectPort: number;

  /** Audit records of one action (`GET /api/v1/audit?action=`, what `tollgate audit --action` reads). */
  function audit(action: string): Promise<AuditRecord[]> {
    return gateway.auditRecords<AuditRecord>(action);
  }

  /** Waits until `audit(action)` has a record matching `match`. */
  async function recorded(action: string, match: (r: AuditRecord) => boolean): Promise<AuditRecord> {
    let found: AuditRecord | undefined;
    await expect
      .poll(async () => (found = (await audit(action)).find(match)), { timeout: 10_000, interval: 250 })
      .toBeDefined();
    return found!;
  }

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        delivered.push(...(JSON.parse(body) as { records: AuditRecord[] }).records);
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    stack = await startEchoStack({
      TOLLGATE_AUDIT_WEBHOOK_URL: `http://127.0.0.1:${port}/audit`,
      TOLLGATE_WEBHOOK_SECRET: 'a-webhook-secret-for-the-test',
    });
    ({ gateway, echo, processes } = stack);
    stack.cleanups.push(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
    token = await createAgent(gateway, 'edge');
    await createTcpConnection(gateway, 'echo-edge', echo.port, ['edge']);
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo-edge');
    processes.push(connect.cli);
    connectPort = connect.port;
  });

  afterAll(() => stack?.stop());

  let first: CliProcess;
  let firstInstance: string;

  it('a second process with the stolen token is refused while the first serves; the record names both', async () => {
    first = await spawnAgent(gateway.grpcUrl, token);
    processes.push(first);
    firstInstance = await registeredInstance(first);
    const live = await openEchoSession(connectPort);

    const second = await spawnAgent(gateway.grpcUrl, token, { waitOnline: false });
    processes.push(second);
    try {
      await refusedWhileFirstServes(second, live);
    } finally {
      // Whatever happened above, this contender must not outlive the test: it retries every ~5 s
      // and would take the agent over in the next test.
      await second.stop('SIGTERM');
    }
  }, 150_000); // its own waits: 20 s + 20 s for the refusals, 10 s + 15 s + 10 s for the records

  async function refusedWhileFirstServes(second: CliProcess, live: Socket): Promise<void> {
    const secondInstance = await refusedInstance(second);
    expect(secondInstance).not.toBe(firstInstance);
    // It says why, and tries again later rather than in a loop.
    await second.waitFor(new RegExp(`(${CONFLICT}[^]*){2}`), 20_000);
    const [one, two] = logTimes(second.output(), CONFLICT);
    expect(two - one).toBeGreaterThanOrEqual(4_000);
    expect(second.output()).not.toContain('"msg":"agent registered"');
    expect(second.output()).toContain(
      `agent \\"edge\\" is already connected from another instance (${firstInstance}`,
    );

    // The first keeps serving: its open session, and new ones.
    await roundTrip(live, 'still here');
    const fresh = await openEchoSession(connectPort);
    expect(logTimes(first.output(), 'session open')).toHaveLength(2);
    expect(second.output()).not.toContain('session open');
    live.destroy();
    fresh.destroy();

    const conflict = await recorded(
      'agent:conflict',
      (r) => r.payload.contender?.instanceId === secondInstance,
    );
    const host = {
      hostname: hostname(),
      version: AGENT_VERSION,
      address: LOOPBACK_PEER,
    };
    expect(conflict).toMatchObject({
      subject: 'agent:edge',
      target: 'agent:edge',
      decision: 'deny',
      payload: {
        tokenPrefix: token.slice(0, 12),
        holder: { instanceId: firstInstance, ...host },
        contender: { instanceId: secondInstance, ...host },
      },
    });
    expect(conflict.payload.holder?.address).not.toBe(conflict.payload.contender?.address);
    expect(conflict.reason).toContain(`instance ${firstInstance} on ${hostname()}`);
    // As `tollgate audit` shows it.
    const cli = spawnCli(['audit', '--action', 'agent:conflict'], {
      TOLLGATE_URL: gateway.httpUrl,
      TOLLGATE_TOKEN: gateway.adminToken,
    });
    expect(await cli.exited()).toBe(0);
    expect(cli.output()).toContain(
      `DENY agent:conflict agent:edge by agent:edge: a second instance of agent "edge" on ${hostname()}`,
    );
    // Repeats within a minute are counted into the next record, not recorded one by one.
    expect(
      (await audit('agent:conflict')).filter((r) => r.payload.contender?.instanceId === secondInstance),
    ).toHaveLength(1);
    await expect
      .poll(() => delivered.filter((r) => r.action === 'agent:conflict' && r.seq === conflict.seq).length, {
        timeout: 15_000,
      })
      .toBe(1);

    const registration = await recorded('agent:register', (r) => r.payload.instanceId === firstInstance);
    expect(registration).toMatchObject({
      subject: 'agent:edge',
      decision: 'allow',
      payload: { tokenPrefix: token.slice(0, 12), ...host },
    });
  }

  let standby: CliProcess;

  it('after the first is SIGKILLed a restarted agent gets in at once; a waiting second instance takes over on its next retry', async () => {
    await first.stop('SIGKILL');
    const restarted = await spawnAgent(gateway.grpcUrl, token);
    processes.push(restarted);
    expect(await registeredInstance(restarted)).not.toBe(firstInstance);
    expect(restarted.output()).not.toContain(CONFLICT);

    standby = await spawnAgent(gateway.grpcUrl, token, { waitOnline: false });
    processes.push(standby);
    await standby.waitFor(new RegExp(CONFLICT), 20_000);
    const killedAt = Date.now();
    await restarted.stop('SIGKILL');
    await registeredInstance(standby, 15_000);
    expect(Date.now() - killedAt).toBeLessThan(12_000);
    const socket = await openEchoSession(connectPort);
    await standby.waitFor(/"msg":"session open"/, 10_000); // the log line comes through a pipe
    socket.destroy();
  });

  it('a holder that stops answering (a hung host, a half-open stream) locks the agent out for at most the liveness window', async () => {
    const late = await spawnAgent(gateway.grpcUrl, token, { waitOnline: false });
    processes.push(late);
    await late.waitFor(new RegExp(CONFLICT), 20_000);
    standby.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      await registeredInstance(late, 45_000);
      // 20 s without heartbeats, plus one heartbeat interval and one retry (~35 s), and margin for a
      // loaded machine: test files run two at a time on 2 cores.
      expect(Date.now() - stoppedAt).toBeLessThan(42_000);
      // The first session after the take-over is served: the new holder may be offered it before its
      // first bundle arrives, and holds it until then (two CI runs caught it refusing such a session
      // as "does not serve"). A failure says what the new holder and the gateway said.
      const socket = await openEchoSession(connectPort).catch((error: Error) => {
        const tail = (text: string) => text.split('\n').slice(-15).join('\n');
        throw new Error(
          `${error.message}\n--- new holder:\n${tail(late.output())}\n--- gateway:\n${tail(gateway.cli.output())}`,
        );
      });
      socket.destroy();
      await late.waitFor(/"msg":"session open"/, 10_000);
    } finally {
      standby.child.kill('SIGCONT');
    }
    // The resumed process does not knock the new holder off: it is the one refused now.
    const before = logTimes(standby.output(), CONFLICT).length;
    await expect
      .poll(() => logTimes(standby.output(), CONFLICT).length, { timeout: 30_000 })
      .toBeGreaterThan(before);
    const socket = await openEchoSession(connectPort);
    socket.destroy();
    expect(logTimes(late.output(), 'session open')).toHaveLength(2);
  }, 150_000); // its own waits: up to 20 s for the conflict, 45 s for the take-over, 15 s for a session, 10 s for the log, 30 s for the refusal

  it('the check holds through another gateway replica on the same store', async () => {
    const replica = await startTunnelGateway([], { DATABASE_URL: stack!.databaseUrl });
    processes.push(replica.cli);
    const elsewhere = await spawnAgent(replica.grpcUrl, token, { waitOnline: false });
    processes.push(elsewhere);
    const instance = await refusedInstance(elsewhere);
    const conflict = await recorded('agent:conflict', (r) => r.payload.contender?.instanceId === instance);
    expect(conflict.payload.holder?.replica).not.toBe(conflict.payload.contender?.replica);
  });

  it('refused logins, and token issue, rotation and revocation, are records naming the agent, the token prefix and who', async () => {
    const bogus = await spawnAgent(gateway.grpcUrl, `tga_${'x'.repeat(43)}`, { waitOnline: false });
    processes.push(bogus);
    expect(await bogus.exited()).toBe(1);

    // What `tollgate admin agents rotate-token edge --revoke-old` and `revoke-token` call.
    const rotation = await gateway.api<{ token: string }>('POST', '/api/v1/agents/edge/tokens', {
      revokeOthers: true,
    });
    expect(rotation.status).toBe(201);
    const rotated = rotation.body.token;
    const stale = await spawnAgent(gateway.grpcUrl, token, { waitOnline: false });
    processes.push(stale);
    expect(await stale.exited()).toBe(1);
    const revoked = await gateway.api('POST', `/api/v1/agents/edge/tokens/${rotated.slice(0, 12)}/revoke`);
    expect(revoked.status).toBe(200);

    const unknown = await recorded('agent:login', (r) => r.payload.tokenPrefix === 'tga_xxxxxxxx');
    expect(unknown).toMatchObject({
      subject: 'anonymous',
      decision: 'deny',
      reason: 'unknown agent token',
      target: 'agent-token:tga_xxxxxxxx',
      payload: { address: LOOPBACK_PEER, stream: 'control' },
    });
    await recorded(
      'agent:login',
      (r) =>
        r.subject === 'agent:edge' &&
        r.reason === 'agent token revoked' &&
        r.payload.tokenPrefix === token.slice(0, 12),
    );
    const by = { subject: 'sa:bootstrap-admin', decision: 'allow', target: 'agent:edge' };
    expect(await recorded('agent-token:issue', (r) => r.payload.agent === 'edge')).toMatchObject({
      ...by,
      payload: { tokenPrefix: token.slice(0, 12) },
    });
    expect(await recorded('agent-token:rotate', (r) => r.payload.agent === 'edge')).toMatchObject({
      ...by,
      payload: { tokenPrefix: rotated.slice(0, 12), revokedPrefixes: [token.slice(0, 12)] },
    });
    expect(await recorded('agent-token:revoke', (r) => r.payload.agent === 'edge')).toMatchObject({
      ...by,
      payload: { tokenPrefixes: [rotated.slice(0, 12)] },
    });
  });

  it('an agent attaching to a session offered to another agent is refused and recorded', async () => {
    const owner = rawAgent(gateway.grpcUrl, await createAgent(gateway, 'owner'));
    const intruder = rawAgent(gateway.grpcUrl, await createAgent(gateway, 'intruder'));
    try {
      await Promise.all([owner.registered, intruder.registered]);
      await createTcpConnection(gateway, 'echo-owner', echo.port, ['owner']);
      const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'echo-owner');
      processes.push(connect.cli);
      const socket = await dial(connect.port);
      socket.on('error', () => undefined);
      const offer = await owner.nextOffer();
      const accepted = echo.accepted();

      const status = await intruder.attach(offer.sessionId);
      expect(status.code).toBe(GrpcStatus.PERMISSION_DENIED);
      expect(status.details).toBe('no such session was offered to this agent');
      owner.refuse(offer.sessionId);
      await connect.cli.waitFor(/echo-owner: agent offline/, 15_000);
      expect(echo.accepted()).toBe(accepted);

      const attempt = await recorded('agent:attach', (r) => r.target === `session:${offer.sessionId}`);
      expect(attempt).toMatchObject({
        subject: 'agent:intruder',
        decision: 'deny',
        reason: 'agent "intruder" tried to attach to a session of agent "owner"',
        payload: { offeredTo: 'owner' },
      });
    } finally {
      owner.stop();
      intruder.stop();
    }
  });
});
