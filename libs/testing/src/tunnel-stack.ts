import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { spawnCli, type CliProcess } from './cli-process';
import { bootstrapAdminToken, TEST_BOOTSTRAP_ADMIN_SECRET } from './gateway-tokens';
import { createTestDatabase, MACHINE_POSTGRES } from './postgres-database';
import { echoTarget, type TcpTarget } from './tcp-targets';
import { startFakeKubeApiServer, type FakeKubeApiServer } from './fake-kube-apiserver';

/**
 * The harness for data-path tests: a real `tollgate gateway`, real `tollgate agent`s and real
 * `tollgate connect` listeners, all on free ports, driven through the REST API with an admin token.
 */
export interface TunnelGateway {
  readonly cli: CliProcess;
  readonly httpUrl: string;
  /** http://host:port of the gRPC endpoint, as agents and `connect` take it. */
  readonly grpcUrl: string;
  readonly grpcPort: number;
  readonly adminToken: string;
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  /**
   * Audit records of one action (`GET /api/v1/audit`, what `tollgate audit --action` reads), oldest
   * first unless `order: 'desc'`, optionally of one subject; fails on anything but 200.
   */
  auditRecords<T = AuditRecordView>(action: string, options?: AuditQuery): Promise<T[]>;
}

export interface AuditQuery {
  readonly subject?: string;
  readonly order?: 'asc' | 'desc';
  /** Default 1000. */
  readonly limit?: number;
}

/** The fields of an audit record the tests read (the API returns more). */
export interface AuditRecordView {
  readonly action: string;
  readonly subject: string;
  readonly decision: string;
  readonly reason: string;
  readonly target?: string;
  readonly payload?: Record<string, unknown>;
}

export async function startTunnelGateway(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
): Promise<TunnelGateway> {
  const cli = spawnCli(['gateway', '--http-port', '0', '--grpc-port', '0', '--log-format', 'json', ...args], {
    TOLLGATE_BOOTSTRAP_ADMIN_SECRET: TEST_BOOTSTRAP_ADMIN_SECRET,
    ...env,
  });
  return attachGateway(cli);
}

/** Reads the listening addresses from a gateway's log and gets an admin token from it. */
export async function attachGateway(cli: CliProcess, after = 0): Promise<TunnelGateway> {
  const pattern = /"httpUrl":"(http:\/\/[^"]+)","grpcAddress":"([^"]+):(\d+)"/g;
  await cli.waitFor(/"msg":"gateway listening"/);
  const matches = [...cli.output().slice(after).matchAll(pattern)];
  const match = matches.at(-1);
  if (!match) throw new Error(`no listening line in gateway output:\n${cli.output()}`);
  const [, httpUrl, grpcHost, grpcPort] = match as unknown as [string, string, string, string];
  const adminToken = await bootstrapAdminToken(httpUrl);
  const api = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${httpUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const auditRecords = async <T>(action: string, options: AuditQuery = {}) => {
    const query = new URLSearchParams({
      action,
      order: options.order ?? 'asc',
      limit: String(options.limit ?? 1000),
      ...(options.subject ? { subject: options.subject } : {}),
    });
    const path = `/api/v1/audit?${query.toString()}`;
    const { status, body } = await api<{ items: T[] }>('GET', path);
    if (status !== 200) throw new Error(`GET ${path}: ${status} ${JSON.stringify(body)}`);
    return body.items;
  };
  return {
    cli,
    httpUrl,
    grpcUrl: `http://${grpcHost}:${grpcPort}`,
    grpcPort: Number(grpcPort),
    adminToken,
    api,
    auditRecords,
  };
}

/** Registers an agent through the API; resolves with its token. */
export async function createAgent(gateway: TunnelGateway, name: string): Promise<string> {
  const { status, body } = await gateway.api<{ token: string }>('POST', '/api/v1/agents', { name });
  if (status !== 201) throw new Error(`creating agent ${name}: ${status} ${JSON.stringify(body)}`);
  return body.token;
}

/** Creates a tcp connection to 127.0.0.1:port served by `agents`. */
export async function createTcpConnection(
  gateway: TunnelGateway,
  name: string,
  port: number,
  agents: readonly string[],
): Promise<void> {
  const { status, body } = await gateway.api('POST', '/api/v1/connections', {
    name,
    protocol: 'tcp',
    target: { host: '127.0.0.1', port },
    agents,
  });
  if (status !== 201) throw new Error(`creating connection ${name}: ${status} ${JSON.stringify(body)}`);
}

/**
 * Creates a postgres connection to `database` on the machine's PostgreSQL (trust authentication, so
 * the credential reference only has to resolve on the agent) served by `agents`.
 */
export async function createMachinePostgresConnection(
  gateway: TunnelGateway,
  name: string,
  database: string,
  agents: readonly string[],
  passwordRef = 'env:TOLLGATE_TEST_DB_PASSWORD',
): Promise<void> {
  const { status, body } = await gateway.api('POST', '/api/v1/connections', {
    name,
    protocol: 'postgres',
    target: {
      host: MACHINE_POSTGRES.host,
      port: MACHINE_POSTGRES.port,
      database,
      username: MACHINE_POSTGRES.user,
      tls: { mode: 'disable' },
    },
    credential: { password: passwordRef },
    agents,
  });
  if (status !== 201) throw new Error(`creating connection ${name}: ${status} ${JSON.stringify(body)}`);
}

/** Starts `tollgate agent`; with `waitOnline`, resolves once it has registered. */
export async function spawnAgent(
  grpcUrl: string,
  token: string,
  options: { waitOnline?: boolean; env?: Record<string, string | undefined> } = {},
): Promise<CliProcess> {
  const agent = spawnCli(['agent', '--gateway', grpcUrl, '--log-format', 'json'], {
    TOLLGATE_AGENT_TOKEN: token,
    // Journals of test agents (one directory per token inside) stay out of the home directory.
    TOLLGATE_AGENT_DATA_DIR: join(tmpdir(), 'tollgate-test-agents'),
    ...options.env,
  });
  if (options.waitOnline ?? true) await agent.waitFor(/"msg":"bundle applied"/);
  return agent;
}

/** Starts `tollgate connect NAME --port 0`; resolves with the local port it listens on. */
export async function spawnConnect(
  grpcUrl: string,
  token: string,
  connection: string,
  env: Record<string, string> = {},
): Promise<{ cli: CliProcess; port: number }> {
  const cli = spawnCli(['connect', connection, '--port', '0', '--grpc', grpcUrl], {
    TOLLGATE_TOKEN: token,
    // Without a gateway URL, connect asks http://127.0.0.1:8009 for the connection's protocol: a
    // quickstart running on the developer's machine, which then audits this test's token as an
    // unknown signing key. Nothing answers here, as on CI; a test that wants the lookup says where.
    TOLLGATE_URL: 'http://127.0.0.1:1',
    ...env,
  });
  const match = await cli.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  return { cli, port: Number(match[1]) };
}

/** Connects to a local port. */
export function dial(port: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Everything the peer sends until it closes, and how the socket ended. */
export function readAll(socket: Socket): Promise<{ data: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), ...(error ? { error } : {}) }));
  });
}

/**
 * What most data-path tests start from: a gateway on a throwaway PostgreSQL database (with
 * `gatewayEnv` added to its environment) and an echo target. Tests add the processes they start to `processes` and anything else to undo to
 * `cleanups`; `stop` kills the processes, then runs the cleanups (last added first), then closes
 * the echo target and drops the database.
 */
export interface EchoStack {
  readonly gateway: TunnelGateway;
  readonly echo: TcpTarget;
  readonly databaseUrl: string;
  readonly processes: CliProcess[];
  readonly cleanups: (() => unknown)[];
  stop(): Promise<void>;
}

export async function startEchoStack(gatewayEnv: Record<string, string> = {}): Promise<EchoStack> {
  const db = await createTestDatabase();
  const gateway = await startTunnelGateway([], { DATABASE_URL: db.url, ...gatewayEnv });
  const echo = await echoTarget();
  const processes: CliProcess[] = [gateway.cli];
  const cleanups: (() => unknown)[] = [db.drop, () => echo.close()];
  return {
    gateway,
    echo,
    databaseUrl: db.url,
    processes,
    cleanups,
    async stop() {
      await Promise.all(processes.map((p) => p.stop('SIGKILL')));
      for (const cleanup of cleanups.reverse()) await cleanup();
    },
  };
}

/**
 * A fake Kubernetes API server (token `sa-token`) holding pod `web-1` and Secret `db` (its
 * `password` the base64 `secretB64`) in namespace `prod`, registered on `gateway` as the
 * `kubernetes` connection `k8s` served by `agent`, whose token comes from the agent's K8S_TOKEN.
 */
export async function registerFakeCluster(
  gateway: TunnelGateway,
  agent: string,
  secretB64: string,
): Promise<FakeKubeApiServer> {
  const api = await startFakeKubeApiServer('sa-token');
  api.put('pods', {
    metadata: { name: 'web-1', namespace: 'prod' },
    spec: { containers: [{ name: 'a', image: 'x' }] },
  });
  api.put('secrets', { metadata: { name: 'db', namespace: 'prod' }, data: { password: secretB64 } });
  const cluster = await gateway.api('POST', '/api/v1/connections', {
    name: 'k8s',
    protocol: 'kubernetes',
    target: { server: api.url },
    credential: { token: 'env:K8S_TOKEN' },
    agents: [agent],
  });
  if (cluster.status !== 201)
    throw new Error(`k8s connection: ${cluster.status} ${JSON.stringify(cluster.body)}`);
  return api;
}
