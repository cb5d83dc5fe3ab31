import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAgent,
  createTcpConnection,
  createTestDatabase,
  dial,
  echoTarget,
  makeCertificate,
  makeTempDir,
  readAll,
  spawnAgent,
  spawnCli,
  startTunnelGateway,
  type CliProcess,
  type TcpTarget,
  type TestCertificate,
  type TunnelGateway,
} from '@tollgate/testing';

describe('TLS between agents, clients and the gateway (real processes)', () => {
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let gateway: TunnelGateway;
  let echo: TcpTarget;
  let ca: string;
  let httpsUrl: string;

  let cert: TestCertificate;
  let otherCert: TestCertificate;

  beforeAll(async () => {
    const dir = makeTempDir();
    cleanups.push(dir.remove);
    cert = makeCertificate(dir.path, 'gateway');
    otherCert = makeCertificate(dir.path, 'other');
    ca = cert.certFile;
    const key = cert.keyFile;
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

  it('the gateway prints its certificate fingerprint; agent and `connect` pinned to it relay through it', async () => {
    expect(gateway.cli.output()).toContain(`"grpcFingerprint":"${cert.fingerprint}"`);
    const token = await createAgent(gateway, 'pinned-agent');
    await createTcpConnection(gateway, 'echo-pinned', echo.port, ['pinned-agent']);
    // As `tollgate start` prints it (flag), and as openssl prints it (environment).
    const agent = await spawnAgent(httpsUrl, token, {
      env: { TOLLGATE_AGENT_CA_FILE: ca, TOLLGATE_AGENT_GATEWAY_FINGERPRINT: cert.opensslFingerprint },
    });
    processes.push(agent);
    const connect = spawnCli(['connect', 'echo-pinned', '--port', '0', '--grpc', httpsUrl, '--ca-file', ca], {
      TOLLGATE_TOKEN: gateway.adminToken,
      TOLLGATE_GATEWAY_FINGERPRINT: cert.fingerprint
        .slice('sha256:'.length)
        .replaceAll(':', '')
        .toLowerCase(),
    });
    processes.push(connect);
    const port = Number((await connect.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
    const socket = await dial(port);
    const received = readAll(socket);
    socket.end('pinned');
    expect((await received).data.toString()).toBe('pinned');
  });

  it('a certificate that will never verify stops the agent with the reason and exit 1 (untrusted CA, another pin)', async () => {
    const token = await createAgent(gateway, 'untrusting');
    const untrusting = await spawnAgent(httpsUrl, token, { waitOnline: false });
    processes.push(untrusting);
    expect(await untrusting.exited()).toBe(1);
    expect(untrusting.output()).toContain(
      "tollgate agent: the gateway's certificate is not signed by a trusted CA (give its CA with --ca-file)",
    );
    expect(untrusting.output()).not.toContain('agent registered');

    // The pin is checked on top of the CA: a certificate the CA file trusts is still refused.
    const mispinned = spawnCli(
      ['agent', '--gateway', httpsUrl, '--ca-file', ca, '--gateway-fingerprint', otherCert.fingerprint],
      { TOLLGATE_AGENT_TOKEN: token },
    );
    processes.push(mispinned);
    expect(await mispinned.exited()).toBe(1);
    expect(mispinned.output()).toContain(
      `tollgate agent: the gateway presented certificate ${cert.fingerprint}, not the pinned ${otherCert.fingerprint}`,
    );
    expect(mispinned.output()).not.toContain('agent registered');

    const connect = spawnCli(
      [
        'connect',
        'echo-tls',
        '--port',
        '0',
        '--grpc',
        httpsUrl,
        '--ca-file',
        ca,
        '--gateway-fingerprint',
        otherCert.fingerprint,
      ],
      { TOLLGATE_TOKEN: gateway.adminToken },
    );
    processes.push(connect);
    expect(await connect.exited()).toBe(1);
    expect(connect.output()).toContain(
      `the gateway's TLS certificate will never verify: the gateway presented certificate`,
    );
    expect(connect.output()).not.toContain('listening on');
  });

  it('a malformed pin stops the agent at start-up, naming the setting', async () => {
    const agent = spawnCli(['agent', '--gateway', httpsUrl, '--gateway-fingerprint', 'sha256:AB:CD'], {
      TOLLGATE_AGENT_TOKEN: `tga_${'a'.repeat(43)}`,
    });
    processes.push(agent);
    expect(await agent.exited()).toBe(1);
    expect(agent.output()).toContain(
      "--gateway-fingerprint (or TOLLGATE_AGENT_GATEWAY_FINGERPRINT): expected the gateway certificate's SHA-256 fingerprint",
    );
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
