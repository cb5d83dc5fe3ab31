import { readFileSync } from 'node:fs';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { Metadata, Server, ServerCredentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { makeCertificate, makeTempDir, unusedPort, type TestCertificate } from '@tollgate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HealthCheckResponse,
  HealthCheckResponse_ServingStatus,
  HealthClient,
  HealthService,
} from './generated/grpc/health/v1/health';
import { gatewayChannelCredentials, probeGatewayTls, type GatewayEndpoint } from './gateway-tls';

/** A TLS listener presenting `cert`; resolves with its endpoint as a tunnel client dials it. */
async function tlsListener(
  cert: TestCertificate,
  servers: TlsServer[],
  host = '127.0.0.1',
): Promise<GatewayEndpoint> {
  const server = createTlsServer({ cert: cert.pem, key: readKey(cert), ALPNProtocols: ['h2'] }, (socket) =>
    socket.end(),
  );
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { address: `${host}:${port}`, host, tls: true };
}

function readKey(cert: TestCertificate): Buffer {
  return readFileSync(cert.keyFile);
}

/** The pin as the configuration hands it over (see parseCertificateFingerprint): plain lower-case hex. */
function pin(cert: TestCertificate): string {
  return cert.fingerprint.slice('sha256:'.length).replaceAll(':', '').toLowerCase();
}

describe('the gateway certificate checks of agents and `tollgate connect` (real TLS, openssl certificates)', () => {
  const dir = makeTempDir();
  const servers: TlsServer[] = [];
  let gateway: TestCertificate;
  let other: TestCertificate;
  let expired: TestCertificate;
  let misnamed: TestCertificate;

  beforeAll(() => {
    gateway = makeCertificate(dir.path, 'gateway');
    other = makeCertificate(dir.path, 'other');
    expired = makeCertificate(dir.path, 'expired', { days: -1 });
    misnamed = makeCertificate(dir.path, 'misnamed', { altNames: ['DNS:gateway.example.com'] });
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    dir.remove();
  });

  it('accepts the gateway certificate under its CA, with and without a matching pin', async () => {
    const endpoint = await tlsListener(gateway, servers);
    expect(await probeGatewayTls(endpoint, { ca: gateway.pem })).toEqual({
      ok: true,
      fingerprint: pin(gateway),
    });
    expect(await probeGatewayTls(endpoint, { ca: gateway.pem, fingerprint: pin(gateway) })).toMatchObject({
      ok: true,
    });
    // By name as well as by address (SNI carries the name).
    const byName = await tlsListener(gateway, servers, 'localhost');
    expect(await probeGatewayTls(byName, { ca: gateway.pem, fingerprint: pin(gateway) })).toMatchObject({
      ok: true,
    });
  });

  it('a pinned fingerprint that does not match is permanent, even when the CA trusts the certificate', async () => {
    const endpoint = await tlsListener(gateway, servers);
    const verdict = await probeGatewayTls(endpoint, {
      ca: Buffer.concat([gateway.pem, other.pem]),
      fingerprint: pin(other),
    });
    expect(verdict).toMatchObject({ ok: false, permanent: true });
    expect(!verdict.ok && verdict.reason).toBe(
      `the gateway presented certificate ${gateway.fingerprint}, not the pinned ${other.fingerprint}`,
    );
  });

  it('an unknown CA, a wrong name and an expired certificate are permanent; a refused connection is not', async () => {
    const untrusted = await probeGatewayTls(await tlsListener(gateway, servers), {});
    expect(untrusted).toMatchObject({ ok: false, permanent: true });
    expect(!untrusted.ok && untrusted.reason).toMatch(
      /not signed by a trusted CA \(give its CA with --ca-file\)/,
    );

    const wrongName = await probeGatewayTls(await tlsListener(misnamed, servers), { ca: misnamed.pem });
    expect(wrongName).toMatchObject({ ok: false, permanent: true });
    expect(!wrongName.ok && wrongName.reason).toMatch(/not valid for 127\.0\.0\.1/);

    const outdated = await probeGatewayTls(await tlsListener(expired, servers), { ca: expired.pem });
    expect(outdated).toMatchObject({ ok: false, permanent: true });
    expect(!outdated.ok && outdated.reason).toMatch(/outside its validity period: certificate has expired/);

    const port = await unusedPort();
    const refused = await probeGatewayTls({ address: `127.0.0.1:${port}`, host: '127.0.0.1', tls: true }, {});
    expect(refused).toMatchObject({ ok: false, permanent: false });
    expect(!refused.ok && refused.reason).toMatch(/ECONNREFUSED/);
  });

  describe('on the gRPC channel itself', () => {
    let server: Server;
    let endpoint: GatewayEndpoint;
    let calls = 0;

    beforeAll(async () => {
      server = new Server();
      server.addService(HealthService, {
        check: (_call: unknown, callback: (e: null, r: HealthCheckResponse) => void) => {
          calls++;
          callback(null, { status: HealthCheckResponse_ServingStatus.SERVING });
        },
        watch: () => undefined,
      });
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(
          '127.0.0.1:0',
          ServerCredentials.createSsl(null, [{ cert_chain: gateway.pem, private_key: readKey(gateway) }]),
          (error, bound) => (error ? reject(error) : resolve(bound)),
        ),
      );
      endpoint = { address: `127.0.0.1:${port}`, host: '127.0.0.1', tls: true };
    });

    afterAll(() => server.forceShutdown());

    const check = (fingerprint: string) =>
      new Promise<ServiceError | null>((resolve) => {
        const client = new HealthClient(
          endpoint.address,
          gatewayChannelCredentials(endpoint, { ca: Buffer.concat([gateway.pem, other.pem]), fingerprint }),
        );
        client.check({ service: '' }, new Metadata(), { deadline: Date.now() + 5_000 }, (error) => {
          client.close();
          resolve(error);
        });
      });

    it('every connection checks the pin: the right one passes, another never reaches the server', async () => {
      expect(await check(pin(gateway))).toBeNull();
      expect(calls).toBe(1);
      const refused = await check(pin(other));
      expect(refused?.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(refused?.details).toContain(`not the pinned ${other.fingerprint}`);
      expect(calls).toBe(1);
    });
  });
});
