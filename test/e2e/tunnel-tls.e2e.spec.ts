import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  createTestDatabase,
  dial,
  echoTarget,
  makeTempDir,
  readAll,
  spawnAgent,
  spawnCli,
  startTunnelGateway,
  type CliProcess,
  type TcpTarget,
  type TunnelGateway,
} from '@tollgate/testing';

describe('TLS between agents, clients and the gateway (real processes)', () => {
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let gateway: TunnelGateway;
  let echo: TcpTarget;
  let ca: string;
  let httpsUrl: string;

  beforeAll(async () => {
    const dir = makeTempDir();
    cleanups.push(dir.remove);
    ca = join(dir.path, 'gateway.crt');
    const key = join(dir.path, 'gateway.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        ca,
      ],
      { stdio: 'ignore' },
    );
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    // The certificate by flag (TOLLGATE_GRPC_TLS_CERT / _KEY work the same way).
    gateway = await startTunnelGateway(['--grpc-tls-cert', ca, '--grpc-tls-key', key], {
      DATABASE_URL: db.url,
    });
    processes.push(gateway.cli);
    httpsUrl = gateway.grpcUrl.replace('http://', 'https://');
    echo = await echoTarget();
    cleanups.push(() => echo.close());
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('agent and `connect` dial https:// with the gateway CA and relay through it', async () => {
    const token = await createAgent(gateway, 'tls-agent');
    await createTcpConnection(gateway, 'echo-tls', echo.port, ['tls-agent']);
    const agent = await spawnAgent(httpsUrl, token, { env: { TOLLGATE_AGENT_CA_FILE: ca } });
    processes.push(agent);
    const connect = spawnCli(['connect', 'echo-tls', '--port', '0', '--grpc', httpsUrl, '--ca-file', ca], {
      TOLLGATE_TOKEN: gateway.adminToken,
    });
    processes.push(connect);
    const port = Number((await connect.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    const socket = await dial(port);
    const received = readAll(socket);
    socket.end('over tls');
    expect((await received).data.toString()).toBe('over tls');
  });

  it('an agent that does not trust the certificate never registers', async () => {
    const token = await createAgent(gateway, 'untrusting');
    const agent = await spawnAgent(httpsUrl, token, { waitOnline: false });
    processes.push(agent);
    await agent.waitFor(/control stream lost; reconnecting/, 15_000);
    expect(agent.output()).not.toContain('agent registered');
  });

  it('refuses plain text to a non-loopback gateway unless --insecure', async () => {
    const agent = spawnCli(['agent', '--gateway', 'http://192.0.2.1:8010'], {
      TOLLGATE_AGENT_TOKEN: `tga_${'a'.repeat(43)}`,
    });
    processes.push(agent);
    expect(await agent.exited()).toBe(1);
    expect(agent.output()).toContain('plain text to 192.0.2.1 would expose the agent token');
  });
});
