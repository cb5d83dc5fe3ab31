import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curl,
  createAgent,
  createTestDatabase,
  makeTempDir,
  registerFakeCluster,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startTunnelGateway,
  type CliProcess,
  type FakeKubeApiServer,
  type TunnelGateway,
} from '@tollgate/testing';

const run = promisify(execFile);

// `web-bodies` records bodies (up to 1 KiB); `web-strict` too, in the gateway audit mode (the
// result goes up the session's stream, not through the journal); `web-plain` is under the default
// (none recorded).
const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
masking:
  - name: pii
    detectors: [email]
  - name: secret-values
    match: {protocol: kubernetes}
    kubernetes: {resources: [secrets]}
audit:
  - name: api-bodies
    match: {connections: [web-bodies, web-strict, k8s]}
    bodies: {request: true, response: true, max_bytes: 1024}
  - name: strict
    match: {connections: [web-strict]}
    mode: gateway
`;

const TOKEN = 'agent-token-5d1e9f0c7b';
const SECRET_B64 = Buffer.from('hunter2-db-password').toString('base64');

interface ResultEvent {
  type: string;
  command: string;
  status?: number;
  masked?: string[];
  requestBody?: string;
  responseBody?: string;
  bodyTruncated?: string[];
  bodyNotes?: string[];
}

describe('http bodies recorded where policy says, masked (gateway, agent, tollgate connect, curl)', () => {
  const processes: CliProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  let gateway: TunnelGateway;
  let target: Server;
  let bodiesPort: number;
  let plainPort: number;
  let strictPort: number;
  let releaseStream: (() => void) | undefined;
  let api: FakeKubeApiServer | undefined;
  const dir = makeTempDir('tollgate-e2e-bodies-');
  const kubeconfig = join(dir.path, 'kube', 'config');

  beforeAll(async () => {
    target = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = req.url ?? '';
        if (url.endsWith('/echo')) {
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              received: JSON.parse(Buffer.concat(chunks).toString()) as unknown,
              owner: 'ops@corp.example',
            }),
          );
        } else if (url.endsWith('/headers')) {
          // A target that echoes the headers it got (httpbin's /headers), the agent's token among them.
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ headers: req.headers }));
        } else if (url.endsWith('/big')) {
          // An address across the 1 KiB cut: recorded masked whole, never in part.
          res.setHeader('content-type', 'application/json');
          res.end(
            JSON.stringify({
              pad: 'x'.repeat(1000),
              email: 'carol.longname@corp.example',
              more: 'y'.repeat(3000),
            }),
          );
        } else if (url.endsWith('/gzip')) {
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(gzipSync(JSON.stringify({ secret: 'dave@corp.example' })));
        } else if (url.endsWith('/binary')) {
          res.setHeader('content-type', 'text/plain');
          res.end(Buffer.from([0x68, 0x69, 0x00, 0x01, 0x02]));
        } else if (url.endsWith('/stream')) {
          // Chunked: the first part now, the rest when the test says.
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write(`first part ${'a'.repeat(1500)}\n`);
          releaseStream = () => res.end('last part\n');
        } else {
          res.setHeader('content-type', 'application/json');
          res.end('{}');
        }
      });
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/api`;
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    gateway = await startTunnelGateway([], { DATABASE_URL: db.url });
    processes.push(gateway.cli);
    const policy = await gateway.api('POST', '/api/v1/policy', { document: POLICY });
    expect(policy.status, JSON.stringify(policy.body)).toBe(201);
    const token = await createAgent(gateway, 'edge-1');
    for (const name of ['web-bodies', 'web-plain', 'web-strict']) {
      const created = await gateway.api('POST', '/api/v1/connections', {
        name,
        protocol: 'http',
        target: { url: targetUrl },
        credential: { token: 'env:WEB_TOKEN' },
        agents: ['edge-1'],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
    }
    api = await registerFakeCluster(gateway, 'edge-1', SECRET_B64);
    processes.push(
      await spawnAgent(gateway.grpcUrl, token, { env: { WEB_TOKEN: TOKEN, K8S_TOKEN: 'sa-token' } }),
    );
    const kube = spawnCli(
      ['connect', 'k8s', '--port', '0', '--grpc', gateway.grpcUrl, '--kubeconfig', kubeconfig],
      { TOLLGATE_TOKEN: gateway.adminToken, TOLLGATE_URL: gateway.httpUrl },
    );
    processes.push(kube);
    await kube.waitFor(/context tollgate-k8s \(now current\)/, 15_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${kube.output()}`);
    });
    const bodies = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'web-bodies');
    processes.push(bodies.cli);
    bodiesPort = bodies.port;
    const plain = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'web-plain');
    processes.push(plain.cli);
    plainPort = plain.port;
    const strict = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'web-strict');
    processes.push(strict.cli);
    strictPort = strict.port;
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    target.closeAllConnections();
    target.close();
    await api?.close();
    dir.remove();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** The session ids of a connection. */
  const sessionsOf = async (connection: string) =>
    (
      await gateway.api<{ items: { id: string }[] }>(
        'GET',
        `/api/v1/sessions?connection=${connection}&limit=100`,
      )
    ).body.items.map((item) => item.id);

  /** The result event of a request (by its command text) on a connection, once it reached the gateway. */
  const resultOf = async (connection: string, command: string | RegExp): Promise<ResultEvent> => {
    const find = async () => {
      for (const id of await sessionsOf(connection)) {
        const { body } = await gateway.api<{ events: { event: ResultEvent }[] }>(
          'GET',
          `/api/v1/sessions/${id}`,
        );
        const found = body.events
          .map((e) => e.event)
          .find(
            (e) =>
              e.type === 'command.result' &&
              (typeof command === 'string' ? e.command === command : command.test(e.command)),
          );
        if (found) return found;
      }
      return undefined;
    };
    await expect.poll(find, { timeout: 15_000, interval: 250 }).toBeDefined();
    return (await find())!;
  };

  it('records a JSON POST and its answer with the e-mail addresses masked', async () => {
    const sent = JSON.stringify({ name: 'Ana', email: 'ana.pereira@corp.example' });
    const { status, body } = await curl(
      '-H',
      'content-type: application/json',
      '--data',
      sent,
      `http://127.0.0.1:${bodiesPort}/echo`,
    );
    expect(status).toBe(200);
    // What is relayed is unchanged: the client gets the target's answer as it was.
    expect(JSON.parse(body)).toEqual({ received: JSON.parse(sent) as unknown, owner: 'ops@corp.example' });
    const result = await resultOf('web-bodies', 'POST /echo');
    expect(result.requestBody).toBe('{"name":"Ana","email":"a***@***.example"}');
    expect(result.responseBody).toBe(
      '{"received":{"name":"Ana","email":"a***@***.example"},"owner":"o***@***.example"}',
    );
    expect(result.masked).toContain('email');
    expect(result.bodyTruncated).toBeUndefined();
    expect(JSON.stringify(result)).not.toContain('ana.pereira');
  });

  it('never records the credential the agent injects, even when the target echoes it', async () => {
    const { status, body } = await curl(`http://127.0.0.1:${bodiesPort}/headers`);
    expect(status).toBe(200);
    // The target did get the agent's token (and, as before, the client sees what the target sends).
    expect(body).toContain(TOKEN);
    const result = await resultOf('web-bodies', 'GET /headers');
    expect(result.responseBody).toContain('"authorization":"Bearer [credential]"');
    expect(JSON.stringify(result)).not.toContain(TOKEN);
  });

  it('records only the first max_bytes of a larger body, and masks a value across the cut whole', async () => {
    const { status, body } = await curl(`http://127.0.0.1:${bodiesPort}/big`);
    expect(status).toBe(200);
    expect(body.length).toBeGreaterThan(4000);
    const result = await resultOf('web-bodies', 'GET /big');
    expect(result.bodyTruncated).toEqual(['response']);
    expect(Buffer.byteLength(result.responseBody!)).toBeLessThanOrEqual(1024);
    expect(result.responseBody).toMatch(/^\{"pad":"x{1000}","email":"c\*\*\*@$/);
    expect(result.responseBody).not.toContain('carol');
  });

  it('does not record a compressed or a binary body, and says why', async () => {
    const gz = await run('curl', ['-sS', '--compressed', `http://127.0.0.1:${bodiesPort}/gzip`]);
    expect(JSON.parse(gz.stdout)).toEqual({ secret: 'dave@corp.example' });
    const gzip = await resultOf('web-bodies', 'GET /gzip');
    expect(gzip.responseBody).toBeUndefined();
    expect(gzip.bodyNotes).toEqual(['response: gzip-encoded body not recorded']);
    await curl('-o', '/dev/null', `http://127.0.0.1:${bodiesPort}/binary`);
    const binary = await resultOf('web-bodies', 'GET /binary');
    expect(binary.responseBody).toBeUndefined();
    expect(binary.bodyNotes).toEqual(['response: body not recorded (binary)']);
    // A request body of a type the rule does not name is not recorded either.
    await curl(
      '-H',
      'content-type: application/octet-stream',
      '--data',
      'abc',
      `http://127.0.0.1:${bodiesPort}/octets`,
    );
    const octets = await resultOf('web-bodies', 'POST /octets');
    expect(octets.requestBody).toBeUndefined();
    expect(octets.bodyNotes).toEqual(['request: application/octet-stream body not recorded (content type)']);
  });

  it('a streamed response still streams (its first bytes arrive before the target ends) and records its first bytes', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      request(`http://127.0.0.1:${bodiesPort}/stream`, resolve).on('error', reject).end(),
    );
    let got = '';
    res.on('data', (c: Buffer) => (got += c.toString()));
    await expect.poll(() => got.includes('first part'), { timeout: 10_000 }).toBe(true);
    // The target has not ended its response yet: it ends when told.
    expect(got).not.toContain('last part');
    expect(releaseStream).toBeDefined();
    releaseStream!();
    await once(res, 'end');
    expect(got).toBe(`first part ${'a'.repeat(1500)}\nlast part\n`);
    const result = await resultOf('web-bodies', 'GET /stream');
    expect(result.bodyTruncated).toEqual(['response']);
    expect(result.responseBody).toBe(`first part ${'a'.repeat(1024 - 'first part '.length)}`);
  });

  it('records bodies in the gateway audit mode too (the CommandResult message carries them)', async () => {
    const { status } = await curl(
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify({ email: 'erin@corp.example' }),
      `http://127.0.0.1:${strictPort}/echo`,
    );
    expect(status).toBe(200);
    const result = await resultOf('web-strict', 'POST /echo');
    expect(result.requestBody).toBe('{"email":"e***@***.example"}');
    expect(result.responseBody).toBe('{"received":{"email":"e***@***.example"},"owner":"o***@***.example"}');
    await curl(`http://127.0.0.1:${strictPort}/gzip`, '-o', '/dev/null');
    expect((await resultOf('web-strict', 'GET /gzip')).bodyNotes).toEqual([
      'response: gzip-encoded body not recorded',
    ]);
    await curl(`http://127.0.0.1:${strictPort}/big`, '-o', '/dev/null');
    expect((await resultOf('web-strict', 'GET /big')).bodyTruncated).toEqual(['response']);
  });

  it('records no bodies under the default policy', async () => {
    const { status } = await curl(
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify({ email: 'bob@corp.example' }),
      `http://127.0.0.1:${plainPort}/echo`,
    );
    expect(status).toBe(200);
    const result = await resultOf('web-plain', 'POST /echo');
    expect(result).toMatchObject({ status: 200 });
    expect(result.requestBody).toBeUndefined();
    expect(result.responseBody).toBeUndefined();
    expect(result.bodyNotes).toBeUndefined();
  });

  it('tollgate sessions show prints the recorded bodies', async () => {
    await resultOf('web-bodies', 'POST /echo');
    const [id] = await sessionsOf('web-bodies');
    const outputs = await Promise.all(
      (await sessionsOf('web-bodies')).map(async (session) => {
        const cli = spawnCli(['sessions', 'show', session], {
          TOLLGATE_URL: gateway.httpUrl,
          TOLLGATE_TOKEN: gateway.adminToken,
        });
        await cli.exited();
        return cli.output();
      }),
    );
    expect(id).toBeDefined();
    const shown = outputs.join('\n');
    expect(shown).toContain(`request body: ${JSON.stringify('{"name":"Ana","email":"a***@***.example"}')}`);
    expect(shown).toContain(
      `response body (first bytes): ${JSON.stringify(`{"pad":"${'x'.repeat(1000)}`).slice(0, -1)}`,
    );
    expect(shown).toContain('"response: gzip-encoded body not recorded"');
    expect(shown).not.toContain(TOKEN);
  });

  it('kubernetes: a Secret’s request body is not recorded, and responses are recorded as masked as the client got them', async () => {
    const kubectl = (...args: string[]) => run('kubectl', ['--kubeconfig', kubeconfig, ...args]);
    // As JSON (kubectl create would send protobuf, which the fake API server does not read).
    const manifest = join(dir.path, 'secret.json');
    writeFileSync(
      manifest,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'api-key' },
        data: { key: Buffer.from('s3cr3t-value-42').toString('base64') },
      }),
    );
    await kubectl('create', '--raw', '/api/v1/namespaces/prod/secrets', '-f', manifest);
    const created = await resultOf('k8s', /^POST \/api\/v1\/namespaces\/prod\/secrets/);
    expect(created.status).toBe(201);
    expect(created.requestBody).toBeUndefined();
    expect(created.bodyNotes).toEqual([
      'request: body not recorded (the resource is masked by rule "secret-values")',
    ]);
    const b64 = Buffer.from('s3cr3t-value-42').toString('base64');
    expect(created.responseBody).toContain('"api-key"');
    expect(JSON.stringify(created)).not.toContain(b64);

    const got = await kubectl('get', 'secret', 'db', '-n', 'prod', '-o', 'json');
    expect(got.stdout).not.toContain(SECRET_B64);
    const read = await resultOf('k8s', /^GET \/api\/v1\/namespaces\/prod\/secrets\/db/);
    expect(read.responseBody).toContain(`"password":"${Buffer.from('********').toString('base64')}"`);
    expect(JSON.stringify(read)).not.toContain(SECRET_B64);

    // A resource no masking rule covers is recorded as it came.
    await kubectl('get', 'pod', 'web-1', '-n', 'prod', '-o', 'json');
    const pod = await resultOf('k8s', /^GET \/api\/v1\/namespaces\/prod\/pods\/web-1/);
    expect(pod.responseBody).toContain('"name":"web-1"');
  });
});
