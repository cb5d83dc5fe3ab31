import { once } from 'node:events';
import { mkdirSync, readFileSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connectHttpTarget, type HttpTargetSettings } from '@tollgate/protocol-http';
import { TlsMode } from '@tollgate/proto';
import { makeCertificate, makeTempDir } from '@tollgate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesTargetSettings } from './kubernetes.engine';

const NO_TLS = {
  mode: TlsMode.VERIFY_FULL,
  caRef: '',
  caPem: '',
  serverName: '',
  clientCertRef: '',
  clientKeyRef: '',
};
/** The agent's secret references as it resolves them: env:NAME, file:/path (one trailing newline dropped). */
function resolve(reference: string, environment: Record<string, string>): string {
  if (reference.startsWith('env:')) {
    const value = environment[reference.slice(4)];
    if (value === undefined) throw new Error(`credential ${reference}: not set on the agent`);
    return value;
  }
  try {
    return readFileSync(reference.slice(5), 'utf8').replace(/\n$/, '');
  } catch (error) {
    throw new Error(
      `credential ${reference}: cannot read ${reference.slice(5)} on the agent (${(error as NodeJS.ErrnoException).code})`,
    );
  }
}

const NO_CREDENTIAL = { bearerTokenRef: '', basicUsername: '', basicPasswordRef: '', headerRefs: {} };

/**
 * A `kubernetes` connection without a server is in-cluster: the agent reads the API server from
 * its pod's environment and the service account from its mount, as client-go does. Here the
 * "API server" is an HTTPS server with a certificate the mounted ca.crt signs.
 */
describe('in-cluster kubernetes target (the agent in a pod)', () => {
  const dir = makeTempDir('tollgate-in-cluster-');
  const account = join(dir.path, 'serviceaccount');
  let server: Server;
  let port: number;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    const cert = makeCertificate(dir.path, 'apiserver');
    const other = makeCertificate(dir.path, 'other');
    mkdirSync(account);
    writeFileSync(join(account, 'ca.crt'), cert.pem);
    writeFileSync(join(account, 'token'), 'sa-token-1\n');
    writeFileSync(join(dir.path, 'other-ca.crt'), other.pem);
    server = createServer({ cert: cert.pem, key: readFileSync(cert.keyFile) }, (req, res) => {
      seen.push(req.headers.authorization);
      res.end('{"kind":"APIVersions"}');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => {
    server?.close();
    dir.remove();
  });

  const env = (extra: Record<string, string> = {}) => ({
    KUBERNETES_SERVICE_HOST: '127.0.0.1',
    KUBERNETES_SERVICE_PORT: String(port),
    TOLLGATE_AGENT_KUBE_SERVICEACCOUNT_DIR: account,
    ...extra,
  });
  const settings = (
    environment: Record<string, string>,
    target: Partial<Parameters<typeof kubernetesTargetSettings>[1]> = {},
  ) =>
    kubernetesTargetSettings(
      'k8s',
      { serverUrl: '', tls: NO_TLS, credential: NO_CREDENTIAL, ...target },
      (reference) => resolve(reference, environment),
      5_000,
    );
  /** One GET through a connection made with these settings, as the engine makes it. */
  const get = async (target: HttpTargetSettings) => {
    const socket = await connectHttpTarget(target);
    const headers = target.inject.map(([name, value]) => `${name}: ${value}\r\n`).join('');
    socket.write(`GET /api HTTP/1.1\r\nHost: ${target.url.host}\r\n${headers}Connection: close\r\n\r\n`);
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    await once(socket, 'end');
    return text;
  };

  it("reaches the API server from the pod's environment, verified by the service account's CA, with its token", async () => {
    const target = settings(env());
    expect(target.url.href).toBe(`https://127.0.0.1:${port}/`);
    expect(target.tls.verify).toBe(true);
    expect(await get(target)).toMatch(/^HTTP\/1.1 200[\s\S]*APIVersions/);
    expect(seen.at(-1)).toBe('Bearer sa-token-1');
  });

  it('reads the token at each session: a token the kubelet rotated is the one sent', async () => {
    writeFileSync(join(account, 'token'), 'sa-token-2');
    await get(settings(env()));
    expect(seen.at(-1)).toBe('Bearer sa-token-2');
  });

  it("uses the connection's own token, and its own CA, when it has them", async () => {
    const own = settings(env({ OWN: 'own-token' }), {
      credential: { ...NO_CREDENTIAL, bearerTokenRef: 'env:OWN' },
    });
    await get(own);
    expect(seen.at(-1)).toBe('Bearer own-token');
    // A CA that did not sign the API server's certificate: the session does not reach it.
    const wrongCa = settings(env(), { tls: { ...NO_TLS, caRef: `file:${join(dir.path, 'other-ca.crt')}` } });
    await expect(get(wrongCa)).rejects.toThrow(/certificate|self.signed|verify/i);
  });

  it('stays verified whatever TLS mode the bundle carries, unless it says insecureSkipTlsVerify', () => {
    expect(settings(env(), { tls: { ...NO_TLS, mode: TlsMode.DISABLE } }).tls.verify).toBe(true);
    expect(settings(env(), { tls: { ...NO_TLS, mode: TlsMode.REQUIRE } }).tls.verify).toBe(false);
  });

  it('says why when the agent is not in a pod, or its service account is not mounted', () => {
    expect(() => settings({})).toThrow(
      'connection "k8s" is in-cluster, but this agent does not run in a Kubernetes pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set): run it in the cluster, or set target.server',
    );
    expect(() => settings(env({ TOLLGATE_AGENT_KUBE_SERVICEACCOUNT_DIR: join(dir.path, 'none') }))).toThrow(
      /cannot read .*none\/(ca\.crt|token) on the agent \(ENOENT\)/,
    );
  });

  it('brackets an IPv6 service host', () => {
    expect(
      settings(env({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' })).url.host,
    ).toBe('[fd00::1]');
  });
});
