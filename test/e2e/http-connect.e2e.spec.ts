import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createTlsServer } from 'node:tls';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { WebSocket, WebSocketServer } from 'ws';
import { parseAllDocuments } from 'yaml';
import { asciicastOutput, parseAsciicast } from '@tollgate/audit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  curl,
  createAgent,
  createTestDatabase,
  makeCertificate,
  makeTempDir,
  postTokenEndpoint,
  repoRoot,
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

/**
 * The agent container of deploy/kubernetes/agent.yaml: its command (run from the repository, the
 * image's working directory) and its environment, every variable it sets named (a Secret's key
 * read from the manifest's Secret).
 */
function manifestAgent(): { bin: string; args: string[]; env: Record<string, string> } {
  const docs = parseAllDocuments(readFileSync(join(repoRoot(), 'deploy/kubernetes/agent.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string }; [key: string]: unknown },
  );
  const set = docs.find((d) => d.kind === 'StatefulSet') as unknown as {
    spec: {
      template: {
        spec: {
          containers: {
            command: string[];
            env: {
              name: string;
              value?: string;
              valueFrom?: { secretKeyRef: { name: string; key: string } };
            }[];
          }[];
        };
      };
    };
  };
  const [container] = set.spec.template.spec.containers;
  const secret = (name: string, key: string) =>
    (
      docs.find((d) => d.kind === 'Secret' && d.metadata.name === name) as unknown as {
        stringData: Record<string, string>;
      }
    ).stringData[key];
  const env = Object.fromEntries(
    container.env.map((e) => [
      e.name,
      e.value ?? secret(e.valueFrom!.secretKeyRef.name, e.valueFrom!.secretKeyRef.key),
    ]),
  );
  const [node, script, ...args] = container.command;
  expect(node).toBe('node');
  return { bin: join(repoRoot(), script), args, env };
}

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
masking:
  - name: secret-values
    match: {protocol: kubernetes}
    kubernetes: {resources: [secrets]}
`;

const SECRET_B64 = Buffer.from('hunter2-db-password').toString('base64');

/** A long-running client (kubectl, curl): what it printed, and whether it has ended. */
interface Running {
  readonly child: ChildProcess;
  output(): string;
  seen(text: string): Promise<void>;
  ended(): Promise<void>;
}

function running(command: string, args: readonly string[]): Running {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  const onData = (c: Buffer) => (out += c.toString());
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const fail = (what: string) => () => {
    throw new Error(`${command} ${args.join(' ')}: ${what}; printed:\n${out}`);
  };
  return {
    child,
    output: () => out,
    seen: (text) =>
      expect
        .poll(() => out.includes(text) || child.exitCode !== null, { timeout: 20_000 })
        .toBe(true)
        .then(() => (out.includes(text) ? undefined : fail(`ended before printing ${text}`)())),
    ended: () =>
      Promise.race([
        exit,
        new Promise<void>((_, reject) =>
          setTimeout(() => reject(new Error(`${command} still running:\n${out}`)), 20_000),
        ),
      ]),
  };
}

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
      if (req.url === '/api/events') {
        // Server-sent events: one now, then the stream stays open.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: hello\n\n');
        return;
      }
      seen.push({
        method: req.method,
        url: req.url,
        authorization: req.headers.authorization,
        apiKey: req.headers['x-api-key'] as string | undefined,
      });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, url: req.url }));
    });
    const sockets = new WebSocketServer({ server: target, path: '/api/socket' });
    sockets.on('connection', (ws) => ws.on('message', (data: Buffer) => ws.send(data)));
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
    api = await registerFakeCluster(gateway, 'edge-1', SECRET_B64);
    processes.push(
      await spawnAgent(gateway.grpcUrl, token, {
        env: { WEB_PASSWORD: 'pa:ss', WEB_KEY: 'k-123', K8S_TOKEN: 'sa-token' },
      }),
    );
    const connect = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'web');
    processes.push(connect.cli);
    port = connect.port;
    processes.push(await connectKube(gateway.adminToken, kubeconfig));
  });

  /** `tollgate connect NAME` (k8s) adding its context to `file`. */
  const connectKube = async (token: string, file: string, name = 'k8s') => {
    const cli = spawnCli(['connect', name, '--port', '0', '--grpc', gateway.grpcUrl, '--kubeconfig', file], {
      TOLLGATE_TOKEN: token,
      // Where connect asks what the connection speaks (kubernetes: write the kubeconfig).
      TOLLGATE_URL: gateway.httpUrl,
    });
    await cli
      .waitFor(new RegExp(`context tollgate-${name} \\(now current\\)`), 15_000)
      .catch((e: unknown) => {
        throw new Error(`${String(e)}\n${cli.output()}`);
      });
    return cli;
  };
  const kubectl = async (...args: string[]) =>
    run('kubectl', ['--kubeconfig', kubeconfig, ...args]).then(
      ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  /** The open sessions of a connection, by id. */
  const openSessions = async (connection: string) =>
    (
      await gateway.api<{ items: { id: string }[] }>(
        'GET',
        `/api/v1/sessions?state=open&connection=${connection}`,
      )
    ).body.items.map((item) => item.id);
  const tollgate = async (...args: string[]) => {
    const cli = spawnCli(args, { TOLLGATE_URL: gateway.httpUrl, TOLLGATE_TOKEN: gateway.adminToken });
    await cli.exited();
    return cli.output();
  };
  /** A WebSocket through the web connection, echoing once; resolves when it is open and echoed. */
  const webSocket = async (on: number) => {
    const ws = new WebSocket(`ws://127.0.0.1:${on}/socket`);
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
    await once(ws, 'open');
    ws.send('ping');
    const [echo] = (await once(ws, 'message')) as [Buffer];
    expect(echo.toString()).toBe('ping');
    return { closed };
  };

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    target.closeAllConnections();
    target.close();
    await api?.close();
    dir.remove();
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

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

  it('connect --exec runs curl on the path and kubectl with the command given after --, nothing else', async () => {
    const before = seen.length;
    const viaCurl = await tollgate(
      'connect',
      'web',
      '--grpc',
      gateway.grpcUrl,
      '--exec',
      '--',
      '-s',
      '/items?page=3',
    );
    expect(viaCurl.trim()).toContain(JSON.stringify({ ok: true, url: '/api/items?page=3' }));
    // Only the path asked for: curl is not also sent to the listener's `/`.
    expect(seen.slice(before).map((request) => request.url)).toEqual(['/api/items?page=3']);
    const viaKubectl = await tollgate(
      'connect',
      'k8s',
      '--grpc',
      gateway.grpcUrl,
      '--exec',
      '--',
      'get',
      'pods',
      '-n',
      'prod',
      '-o',
      'name',
    );
    expect(viaKubectl).toContain('pod/web-1');
    expect(viaKubectl).not.toMatch(/error|namespace\//i);
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

  it('an in-cluster connection: the agent in a pod finds the API server and its service account there', async () => {
    // The pod: the API server behind TLS its service account's ca.crt verifies, and a token file.
    const account = join(dir.path, 'serviceaccount');
    mkdirSync(account);
    const cert = makeCertificate(dir.path, 'apiserver');
    writeFileSync(join(account, 'ca.crt'), cert.pem);
    writeFileSync(join(account, 'token'), 'sa-token\n');
    const front = createTlsServer({ cert: cert.pem, key: readFileSync(cert.keyFile) }, (tls) => {
      const upstream = connect(Number(new URL(api!.url).port), '127.0.0.1');
      tls.pipe(upstream).pipe(tls);
      upstream.on('error', () => tls.destroy());
      tls.on('error', () => upstream.destroy());
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
    cleanups.push(async () => void front.close());
    const agentToken = await createAgent(gateway, 'in-pod');
    const created = await gateway.api('POST', '/api/v1/connections', {
      name: 'k8s-here',
      protocol: 'kubernetes',
      target: { inCluster: true },
      agents: ['in-pod'],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    // The agent runs as deploy/kubernetes/agent.yaml's container says (its command and environment,
    // the gateway, token and volume being this test's), in a "pod" made of the environment above.
    const pod = manifestAgent();
    const agent = spawnCli(
      pod.args,
      {
        ...pod.env,
        TOLLGATE_AGENT_GATEWAY: gateway.grpcUrl,
        TOLLGATE_AGENT_TOKEN: agentToken,
        TOLLGATE_AGENT_DATA_DIR: join(dir.path, 'journal'),
        KUBERNETES_SERVICE_HOST: '127.0.0.1',
        KUBERNETES_SERVICE_PORT: String((front.address() as AddressInfo).port),
        TOLLGATE_AGENT_KUBE_SERVICEACCOUNT_DIR: account,
      },
      pod.bin,
    );
    processes.push(agent);
    await agent.waitFor(/"msg":"bundle applied"/);
    const config = join(dir.path, 'in-cluster', 'config');
    processes.push(await connectKube(gateway.adminToken, config, 'k8s-here'));
    const before = api!.requests.length;
    const pods = await run('kubectl', ['--kubeconfig', config, 'get', 'pods', '-n', 'prod', '-o', 'name']);
    expect(pods.stdout).toBe('pod/web-1\n');
    const through = api!.requests.slice(before);
    expect(through.length).toBeGreaterThan(0);
    expect(through.every((r) => r.authorization === 'Bearer sa-token')).toBe(true);
  });

  it('a refused session is an HTTP answer curl shows, not a reset', async () => {
    const missing = await spawnConnect(gateway.grpcUrl, gateway.adminToken, 'no-such-service');
    processes.push(missing.cli);
    const { status, body } = await curl(`http://127.0.0.1:${missing.port}/`);
    expect(status).toBe(404);
    expect(JSON.parse(body)).toMatchObject({ by: 'tollgate' });
  });

  it('the agent masks Secrets’ values under the policy’s masking rule', async () => {
    const got = await kubectl('get', 'secret', 'db', '-n', 'prod', '-o', 'yaml');
    expect(got.stdout).toContain(`password: ${Buffer.from('********').toString('base64')}`);
    expect(got.stdout).not.toContain(SECRET_B64);
    // A JSON patch copying the value into an annotation is read by the agent and denied.
    const copy = JSON.stringify([{ op: 'copy', from: '/data/password', path: '/metadata/annotations/x' }]);
    const patched = await kubectl('patch', 'secret', 'db', '-n', 'prod', '--type=json', '-p', copy);
    expect(patched.stderr).toContain('masking rule "secret-values" does not allow');
    expect(patched.stdout + patched.stderr).not.toContain(SECRET_B64);
  });

  it('kubectl exec is recorded, and tollgate sessions play replays what it printed', async () => {
    const ran = await kubectl('exec', '-n', 'prod', 'web-1', '--', 'echo', 'replayed', 'here');
    expect(ran).toMatchObject({ code: 0, stdout: 'replayed here\n' });
    type Detail = { recordings: { recording: number; command: string | null; complete: boolean }[] };
    const recorded = async () => {
      const { body } = await gateway.api<{ items: { id: string }[] }>(
        'GET',
        '/api/v1/sessions?connection=k8s&limit=100',
      );
      for (const { id } of body.items) {
        const detail = (await gateway.api<Detail>('GET', `/api/v1/sessions/${id}`)).body;
        const found = detail.recordings.find((r) => r.command === 'echo replayed here' && r.complete);
        if (found) return { id, recording: found.recording };
      }
      return undefined;
    };
    await expect.poll(recorded, { timeout: 15_000, interval: 500 }).toBeDefined();
    const { id, recording } = (await recorded())!;
    const played = await tollgate('sessions', 'play', id, '--recording', String(recording), '--raw');
    const parsed = parseAsciicast(played);
    expect(parsed.ok && asciicastOutput(parsed.events)).toBe(ran.stdout);
  });

  it('tollgate sessions kill ends a watch, logs -f, exec, server-sent events and a WebSocket at once, here and at the target', async () => {
    const kube = (...args: string[]) => running('kubectl', ['--kubeconfig', kubeconfig, ...args]);
    const watch = kube('get', 'pods', '-n', 'prod', '--watch', '-o', 'name');
    await watch.seen('pod/web-1');
    api!.log('prod', 'web-1', 'serving');
    const logs = kube('logs', '-f', '-n', 'prod', 'web-1');
    await logs.seen('serving');
    const exec = kube('exec', '-i', '-n', 'prod', 'web-1', '--', 'cat');
    exec.child.stdin!.write('typed\n');
    await exec.seen('typed');
    const events = running('curl', ['-sSN', `http://127.0.0.1:${port}/events`]);
    await events.seen('data: hello');
    const socket = await webSocket(port);
    expect(api!.openStreams()).toBe(3);

    const sessions = [...(await openSessions('k8s')), ...(await openSessions('web'))];
    expect(sessions.length).toBeGreaterThanOrEqual(5);
    // One through the CLI as a person would; the rest through the same API, to keep the test light.
    const [first, ...rest] = sessions;
    const [said] = await Promise.all([
      tollgate('sessions', 'kill', first),
      ...rest.map((id) => gateway.api('POST', `/api/v1/sessions/${id}/kill`)),
    ]);
    expect(said).toContain(`session ${first} killed`);
    await Promise.all([watch.ended(), logs.ended(), exec.ended(), events.ended(), socket.closed]);
    // The API server's side of each stream is closed too, not left running.
    await expect.poll(() => api!.openStreams(), { timeout: 10_000 }).toBe(0);
  });

  it('revoking the token of tollgate connect ends its running watch and event stream', async () => {
    const { status, body } = await postTokenEndpoint(gateway.httpUrl, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: gateway.adminToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
    expect(status).toBe(200);
    const token = body['access_token'] as string;
    const other = join(dir.path, 'kube', 'revocable');
    processes.push(await connectKube(token, other));
    const web = await spawnConnect(gateway.grpcUrl, token, 'web');
    processes.push(web.cli);
    const watch = running('kubectl', [
      '--kubeconfig',
      other,
      'get',
      'pods',
      '-n',
      'prod',
      '--watch',
      '-o',
      'name',
    ]);
    await watch.seen('pod/web-1');
    const events = running('curl', ['-sSN', `http://127.0.0.1:${web.port}/events`]);
    await events.seen('data: hello');
    const socket = await webSocket(web.port);
    const revoked = await fetch(`${gateway.httpUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(revoked.status).toBe(200);
    await Promise.all([watch.ended(), events.ended(), socket.closed]);
    await expect.poll(() => api!.openStreams(), { timeout: 10_000 }).toBe(0);
  });
});
