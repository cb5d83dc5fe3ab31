import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  createAgent,
  createTestDatabase,
  makeTempDir,
  spawnAgent,
  spawnCli,
  spawnConnect,
  startFakeKubeApiServer,
  startTunnelGateway,
  type CliProcess,
  type FakeKubeApiServer,
  type TunnelGateway,
} from '@tollgate/testing';

const run = promisify(execFile);

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
guardrails:
  - name: no-deletes-on-web
    match: {protocol: http}
    deny: {http: {methods: [DELETE], paths: ['/items/*']}, message: 'deleting items is not allowed through Tollgate'}
  - name: no-delete-in-prod
    match: {protocol: kubernetes}
    deny: {kubernetes: {verbs: [delete, deletecollection], namespaces: [prod]}}
`;

describe('http and kubernetes connections end to end (gateway, agent, `tollgate connect`, curl, kubectl)', () => {
  const processes: CliProcess[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  let gateway: TunnelGateway;
  let target: Server;
  let port: number;
  let api: FakeKubeApiServer | undefined;
  const dir = makeTempDir('tollgate-e2e-kube-');
  const kubeconfig = join(dir.path, 'kube', 'config');
  const seen: { method?: string; url?: string; authorization?: string; apiKey?: string }[] = [];

  beforeAll(async () => {
    target = createServer((req, res) => {
      seen.push({
        method: req.method,
        url: req.url,
        authorization: req.headers.authorization,
        apiKey: req.headers['x-api-key'] as string | undefined,
      });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, url: req.url }));
    });
    target.listen(0, '127.0.0.1');
    await once(target, 'listening');
    const db = await createTestDatabase();
    cleanups.push(db.drop);
    gateway = await startTunnelGateway([], { DATABASE_URL: db.url });
    processes.push(gateway.cli);
    expect((await gateway.api('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const token = await createAgent(gateway, 'edge-1');
    const created = await gateway.api('POST', '/api/v1/connections', {
      name: 'web',
      protocol: 'http',
      target: { url: `http://127.0.0.1:${(target.address() as AddressInfo).port}/api`, username: 'svc' },
      credential: { password: 'env:WEB_PASSWORD', headers: { 'X-Api-Key': 'env:WEB_KEY' } },
      agents: ['edge-1'],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    api = await startFakeKubeApiServer('sa-token');
    api.put('pods', {
      metadata: { name: 'web-1', namespace: 'prod' },
      spec: { containers: [{ name: 'a', image: 'x' }] },
    });
    const cluster = await gateway.api('POST', '/api/v1/connections', {
      name: 'k8s',
      protocol: 'kubernetes',
      target: { server: api.url },
      credential: { token: 'env:K8S_TOKEN' },
      agents: ['edge-1'],
    });
    expect(cluster.status, JSON.stringify(cluster.body)).toBe(201);
    processes.push(
      await spawnAgent(gateway.grpcUrl, token, {
        env: { WEB_PASSWORD: 'pa:ss', WEB_KEY: 'k-123', K8S_TOKEN: 'sa-token' },
      }),
    );
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'web');
    processes.push(connect.cli);
    port = connect.port;
  });

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    target.closeAllConnections();
    target.close();
    await api?.close();
    dir.remove();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  const curl = async (...args: string[]) => {
    const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
    const lines = stdout.split('\n');
    return { status: Number(lines.pop()), body: lines.join('\n') };
  };

  it('curl reaches the service under the base path with the agent’s credentials, never its own', async () => {
    const { status, body } = await curl(
      '-H',
      'Authorization: Bearer stolen',
      '-H',
      'X-Api-Key: guess',
      `http://127.0.0.1:${port}/items?page=2`,
    );
    expect(status).toBe(200);
    expect(JSON.parse(body)).toEqual({ ok: true, url: '/api/items?page=2' });
    expect(seen.at(-1)).toEqual({
      method: 'GET',
      url: '/api/items?page=2',
      authorization: `Basic ${Buffer.from('svc:pa:ss').toString('base64')}`,
      apiKey: 'k-123',
    });
  });

  it('a denied request is a 403 JSON naming the rule, never reaches the service, and is audited with the allowed ones', async () => {
    const before = seen.length;
    const { status, body } = await curl('-X', 'DELETE', `http://127.0.0.1:${port}/items/7`);
    expect(status).toBe(403);
    expect(JSON.parse(body)).toEqual({
      error: 'forbidden',
      message: 'deleting items is not allowed through Tollgate',
      rule: 'no-deletes-on-web',
      by: 'tollgate',
    });
    expect(seen.length).toBe(before);
    // Each request is a command in its session's audit trail; allowed ones with their result.
    const events = async () => {
      const { body } = await gateway.api<{ items: { action: string; payload: { sessionId?: string } }[] }>(
        'GET',
        '/api/v1/audit?limit=1000',
      );
      const sessions = [...new Set(body.items.map((item) => item.payload.sessionId).filter(Boolean))];
      const all = await Promise.all(
        sessions.map(
          async (id) =>
            (await gateway.api<{ events: { event: unknown }[] }>('GET', `/api/v1/sessions/${id}`)).body
              .events,
        ),
      );
      return all.flat().map((e) => e.event);
    };
    await expect.poll(events, { timeout: 10_000, interval: 250 }).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'command',
          command: 'DELETE /items/7',
          decision: 'deny',
          rule: 'no-deletes-on-web',
        }),
        expect.objectContaining({ type: 'command', command: 'GET /items?page=2', decision: 'allow' }),
        expect.objectContaining({
          type: 'command.result',
          command: 'GET /items?page=2',
          status: 200,
          bytes: 37,
        }),
      ]),
    );
  });

  it('tollgate connect adds a kubeconfig context; kubectl works through it and prints a denial as the API server’s', async () => {
    const connect = spawnCli(
      ['connect', 'k8s', '--port', '0', '--grpc', gateway.grpcUrl, '--kubeconfig', kubeconfig],
      {
        TOLLGATE_TOKEN: gateway.adminToken,
        // Where connect asks what the connection speaks (kubernetes: write the kubeconfig).
        TOLLGATE_URL: gateway.httpUrl,
      },
    );
    processes.push(connect);
    await connect.waitFor(/context tollgate-k8s \(now current\)/, 15_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${connect.output()}`);
    });
    const kubectl = async (...args: string[]) =>
      run('kubectl', ['--kubeconfig', kubeconfig, ...args]).then(
        ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    expect(await kubectl('get', 'pods', '-n', 'prod', '-o', 'name')).toMatchObject({
      code: 0,
      stdout: 'pod/web-1\n',
    });
    const denied = await kubectl('delete', 'pod', 'web-1', '-n', 'prod');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(
      /Error from server \(Forbidden\): delete pods is denied by policy rule "no-delete-in-prod"/,
    );
    expect(api!.requests.filter((r) => r.method === 'DELETE')).toEqual([]);
    expect(api!.requests.every((r) => r.authorization === 'Bearer sa-token')).toBe(true);
  });

  it('a refused session is an HTTP answer curl shows, not a reset', async () => {
    const missing = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'no-such-service');
    processes.push(missing.cli);
    const { status, body } = await curl(`http://127.0.0.1:${missing.port}/`);
    expect(status).toBe(404);
    expect(JSON.parse(body)).toMatchObject({ by: 'tollgate' });
  });
});
