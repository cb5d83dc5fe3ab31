import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardedRequest, HttpSession } from '@tollgate/protocol-http';
import { PolicyCommands } from '@tollgate/protocol-http/test-support';
import { makeTempDir, startFakeKubeApiServer, type FakeKubeApiServer } from '@tollgate/testing';
import { maskingRulesFor } from '@tollgate/policy';
import {
  KUBERNETES_FORWARDING,
  kubernetesBodyPeek,
  kubernetesRequestFacts,
  kubernetesResponseRewrite,
} from './kubernetes.engine';
import { MASKED_BASE64 } from '../masking/object-masking';
import { execRecordingTap } from '../exec/exec-recording.tap';
import { asciicastOutput, parseAsciicast } from '@tollgate/audit';
import { CoreV1Api, Exec, KubeConfig, Watch, type V1Secret } from '@kubernetes/client-node';
import { PassThrough } from 'node:stream';
import { WebSocket } from 'ws';
import { kubernetesReplies } from './kubernetes-status';

const run = promisify(execFile);

const POLICY = `
version: 1
guardrails:
  - name: no-delete-in-prod
    deny: {kubernetes: {verbs: [delete, deletecollection], namespaces: [prod]}, message: "deleting in prod is not allowed"}
  - name: exec-needs-approval
    match: {connections: [k8s]}
    require_approval: {kubernetes: {verbs: [create], resources: [pods/exec], namespaces: [prod]}, approvers: [group:sre]}
  - name: no-secrets
    deny: {kubernetes: {resources: [secrets], names: [root-*], namespaces: [dev]}}
masking:
  - name: secret-values
    match: {protocol: kubernetes}
    kubernetes: {resources: [secrets]}
`;

/** A value the fake holds in a Secret; no response may carry it, in base64 or plain. */
const SECRET = 'hunter2-db-password';
const SECRET_B64 = Buffer.from(SECRET).toString('base64');

describe('KubernetesEngine’s session between kubectl and a fake API server', () => {
  let api: FakeKubeApiServer;
  let proxy: Server;
  const dir = makeTempDir('tollgate-kube-');
  const kubeconfig = join(dir.path, 'config');
  const context = {
    subject: { subject: 'user:alice', groups: ['dev'], actorChain: [] },
    connection: { name: 'k8s', protocol: 'kubernetes', tags: {} },
    readOnly: false,
  };
  const commands = new PolicyCommands(POLICY, context);
  const children: ChildProcess[] = [];

  /** A Kubernetes session per connection, in front of the fake API server, deciding by `decider`. */
  const kubeProxy = (decider: PolicyCommands) => {
    const target = new URL(api.url);
    const rules = maskingRulesFor(decider.policy, context);
    return createServer((socket) => {
      socket.on('error', () => undefined);
      void new HttpSession(socket, {
        connect: () =>
          new Promise((resolve, reject) => {
            const s = connect({ host: target.hostname, port: Number(target.port) }, () => resolve(s));
            s.once('error', reject);
          }),
        forward: (head) =>
          forwardedRequest(head, {
            host: target.host,
            basePath: '',
            inject: [['Authorization', 'Bearer agent-sa-token']],
            ...KUBERNETES_FORWARDING,
          }),
        classify: kubernetesRequestFacts,
        peekBody: kubernetesBodyPeek,
        rewrite: (_head, facts) => kubernetesResponseRewrite(rules, facts),
        tap: (head, facts) => execRecordingTap(facts, head, decider.record, () => socket.destroy()),
        commands: decider,
        replies: kubernetesReplies,
        headTimeoutMs: 1_000,
      }).run();
    });
  };

  beforeAll(async () => {
    api = await startFakeKubeApiServer('agent-sa-token');
    api.put('pods', {
      metadata: { name: 'web-1', namespace: 'prod' },
      spec: { containers: [{ name: 'app', image: 'x' }] },
      status: { phase: 'Running' },
    });
    api.put('pods', {
      metadata: { name: 'web-2', namespace: 'dev' },
      spec: { containers: [{ name: 'app', image: 'x' }] },
      status: { phase: 'Running' },
    });
    api.put('secrets', { metadata: { name: 'root-ca', namespace: 'dev' }, data: { k: 'c2VjcmV0' } });
    api.put('secrets', {
      metadata: {
        name: 'db',
        namespace: 'apps',
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
            kind: 'Secret',
            data: { password: SECRET_B64 },
          }),
        },
      },
      type: 'Opaque',
      data: { password: SECRET_B64, user: Buffer.from('app').toString('base64') },
    });
    proxy = kubeProxy(commands);
    proxy.listen(0, '127.0.0.1');
    await once(proxy, 'listening');
    const port = (proxy.address() as AddressInfo).port;
    writeFileSync(
      kubeconfig,
      `apiVersion: v1
kind: Config
clusters: [{name: t, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: t, user: {token: caller-token}}]
contexts: [{name: t, context: {cluster: t, user: t}}]
current-context: t
`,
    );
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    proxy.close();
    await api.close();
    dir.remove();
  });

  const kubectl = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run('kubectl', ['--kubeconfig', kubeconfig, ...args], {
        timeout: 30_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const e = error as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  /** A long-running kubectl; resolves each time its output contains `text`. */
  const follow = (...args: string[]) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args]);
    children.push(child);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    return {
      child,
      output: () => out,
      seen: (text: string) =>
        new Promise<void>((resolve) => {
          const check = () => (out.includes(text) ? resolve() : child.stdout.once('data', check));
          check();
        }),
    };
  };

  it('kubectl lists and gets with the agent’s token; the caller’s token and impersonation never reach the server', async () => {
    const list = await kubectl('get', 'pods', '-n', 'prod', '-o', 'name');
    expect(list).toMatchObject({ code: 0, stdout: 'pod/web-1\n' });
    const as = await kubectl(
      'get',
      'pod',
      'web-2',
      '-n',
      'dev',
      '-o',
      'jsonpath={.status.phase}',
      '--as',
      'system:admin',
    );
    expect(as.stdout).toBe('Running');
    const seen = api.requests.filter((r) => r.url.includes('/pods'));
    expect(seen.length).toBeGreaterThan(1);
    expect(
      seen.every((r) => r.authorization === 'Bearer agent-sa-token' && r.impersonate === undefined),
    ).toBe(true);
  });

  it('a denied delete is a Forbidden Status that kubectl prints as usual, and the pod stays', async () => {
    const deleted = await kubectl('delete', 'pod', 'web-1', '-n', 'prod');
    expect(deleted.code).toBe(1);
    expect(deleted.stderr).toContain('Error from server (Forbidden): deleting in prod is not allowed');
    expect((await kubectl('get', 'pod', 'web-1', '-n', 'prod', '-o', 'name')).stdout).toBe('pod/web-1\n');
    const all = await kubectl('delete', 'pods', '--all', '-n', 'prod');
    expect(all.stderr).toContain('Forbidden');
    expect(await kubectl('get', 'secret', 'root-ca', '-n', 'dev')).toMatchObject({ code: 1 });
  });

  it('creates and deletes outside prod', async () => {
    const file = join(dir.path, 'cm.json');
    writeFileSync(
      file,
      JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: '1' } }),
    );
    expect(await kubectl('create', '--validate=false', '-f', file, '-n', 'dev')).toMatchObject({
      code: 0,
      stdout: 'configmap/cfg created\n',
    });
    expect(await kubectl('delete', 'configmap', 'cfg', '-n', 'dev')).toMatchObject({ code: 0 });
  });

  it('kubectl exec runs over WebSocket where allowed, and needs approval (RBAC-style rule on create pods/exec) in prod', async () => {
    expect(await kubectl('exec', '-n', 'dev', 'web-2', '--', 'echo', 'hello', 'world')).toMatchObject({
      code: 0,
      stdout: 'hello world\n',
    });
    const held = await kubectl('exec', '-n', 'prod', 'web-1', '--', 'echo', 'hi');
    expect(held.code).not.toBe(0);
    expect(held.stderr).toContain('requires approval');
    expect(commands.decisions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^require_approval GET \/api\/v1\/namespaces\/prod\/pods\/web-1\/exec/),
      ]),
    );
  });

  it('watches and logs -f stream events as they happen', async () => {
    const watch = follow('get', 'pods', '-n', 'dev', '--watch', '-o', 'name');
    await watch.seen('pod/web-2');
    api.put('pods', {
      metadata: { name: 'web-3', namespace: 'dev' },
      spec: {},
      status: { phase: 'Pending' },
    });
    await watch.seen('pod/web-3');
    watch.child.kill();

    api.log('dev', 'web-2', 'started');
    const logs = follow('logs', '-f', '-n', 'dev', 'web-2');
    await logs.seen('started\n');
    api.log('dev', 'web-2', 'request 1');
    await logs.seen('request 1\n');
    logs.child.kill();
  });

  describe('Secrets masked by the policy’s masking rule', () => {
    const leaks = (text: string) => text.includes(SECRET) || text.includes(SECRET_B64);

    it('get -o yaml/json, list and the table keep keys but not values, also in the last-applied copy', async () => {
      const yaml = await kubectl('get', 'secret', 'db', '-n', 'apps', '-o', 'yaml');
      expect(yaml.code, yaml.stderr).toBe(0);
      expect(yaml.stdout).toContain(`password: ${MASKED_BASE64}`);
      expect(yaml.stdout).toContain('name: db');
      expect(leaks(yaml.stdout)).toBe(false);
      const json = await kubectl('get', 'secret', 'db', '-n', 'apps', '-o', 'json');
      const secret = JSON.parse(json.stdout) as {
        data: Record<string, string>;
        metadata: { annotations: Record<string, string> };
      };
      expect(secret.data).toEqual({ password: MASKED_BASE64, user: MASKED_BASE64 });
      expect(Buffer.from(secret.data['password']!, 'base64').toString()).toBe('********');
      expect(leaks(JSON.stringify(secret))).toBe(false);
      const list = await kubectl('get', 'secrets', '-n', 'apps', '-o', 'json');
      expect(list.code, list.stderr).toBe(0);
      expect(JSON.parse(list.stdout)).toMatchObject({ items: [{ data: { password: MASKED_BASE64 } }] });
      expect(leaks(list.stdout)).toBe(false);
      // kubectl's default output is the server's Table; with the objects included they are masked too.
      const table = await kubectl('get', 'secrets', '-n', 'apps');
      expect(table.code).toBe(0);
      expect(table.stdout).toContain('db');
      const raw = await kubectl(
        'get',
        '--raw',
        '/api/v1/namespaces/apps/secrets?includeObject=Object',
        '-v=0',
      );
      expect(leaks(raw.stdout)).toBe(false);
      const rows = await run('curl', [
        '-sS',
        '-H',
        'Accept: application/json;as=Table;v=v1;g=meta.k8s.io',
        `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/api/v1/namespaces/apps/secrets?includeObject=Object`,
      ]);
      expect(JSON.parse(rows.stdout)).toMatchObject({
        kind: 'Table',
        rows: [{ object: { data: { password: MASKED_BASE64 } } }],
      });
      expect(leaks(rows.stdout)).toBe(false);
      // The API server was asked for JSON (never protobuf) and without compression.
      expect(
        api.requests.filter((r) => r.url.includes('/secrets')).every((r) => /json/.test(r.accept ?? '')),
      ).toBe(true);
      expect(commands.results.at(-1)).toMatchObject({ status: 200, masked: ['secret-values'] });
    });

    it('a watch streams each event masked as it happens (JSON and Table events)', async () => {
      const watch = follow('get', 'secrets', '-n', 'apps', '--watch', '-o', 'json');
      await watch.seen('"name": "db"');
      api.put('secrets', { metadata: { name: 'late', namespace: 'apps' }, data: { token: SECRET_B64 } });
      await watch.seen('"name": "late"');
      const table = follow('get', 'secrets', '-n', 'apps', '--watch', '--output-watch-events');
      await table.seen('late');
      api.put('secrets', { metadata: { name: 'later', namespace: 'apps' }, data: { token: SECRET_B64 } });
      await watch.seen('"name": "later"');
      await table.seen('later');
      watch.child.kill();
      table.child.kill();
      expect(watch.output()).toContain(`"token": "${MASKED_BASE64}"`);
      expect(leaks(watch.output()) || leaks(table.output())).toBe(false);
    });

    it('a JSON patch that copies, moves or tests a masked value is denied: the value would land where masking does not look', async () => {
      const patch = (...ops: object[]) =>
        kubectl(
          'patch',
          'secret',
          'db',
          '-n',
          'apps',
          '--type=json',
          '-p',
          JSON.stringify(ops),
          '-o',
          'json',
        );
      for (const ops of [
        // Into an annotation, which the response (and every later get) shows as it is.
        [{ op: 'copy', from: '/data/password', path: '/metadata/annotations/copied' }],
        [{ op: 'move', from: '/data', path: '/metadata/annotations' }],
        // kube-apiserver's json-patch ignores a pointer's first part, whatever it holds.
        [{ op: 'copy', from: 'x/data/password', path: '/metadata/annotations/copied' }],
        [
          {
            op: 'copy',
            from: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration',
            path: '/metadata/annotations/copied',
          },
        ],
        // A test says whether a guess is right by whether the patch applies.
        [
          { op: 'test', path: '/data/password', value: SECRET_B64 },
          { op: 'add', path: '/metadata/labels', value: { x: 'y' } },
        ],
      ]) {
        const got = await patch(...ops);
        expect(leaks(got.stdout + got.stderr), JSON.stringify(ops)).toBe(false);
        expect(got.code, JSON.stringify(ops)).toBe(1);
        expect(got.stderr).toContain('Error from server (Forbidden)');
        expect(got.stderr).toContain('masking rule "secret-values"');
      }
      const after = await kubectl('get', 'secret', 'db', '-n', 'apps', '-o', 'json');
      expect(leaks(after.stdout)).toBe(false);
      expect(after.stdout).not.toContain('copied');
      // A patch that only writes goes through, its answer masked; so does one reading other fields.
      const written = await patch(
        { op: 'add', path: '/metadata/annotations/owner', value: 'team-a' },
        { op: 'copy', from: '/metadata/name', path: '/metadata/annotations/name' },
      );
      expect(written.code, written.stderr).toBe(0);
      expect(JSON.parse(written.stdout)).toMatchObject({
        metadata: { annotations: { owner: 'team-a', name: 'db' } },
        data: { password: MASKED_BASE64 },
      });
      expect(leaks(written.stdout)).toBe(false);
    });

    it('fails closed: a protobuf answer is refused with a Status kubectl prints, the value never shown', async () => {
      api.protobufFor = 'secrets';
      try {
        const got = await kubectl('get', 'secret', 'db', '-n', 'apps', '-o', 'yaml');
        expect(got.code).toBe(1);
        expect(got.stderr).toContain('application/vnd.kubernetes.protobuf, which cannot be masked');
        expect(got.stderr).toContain('masking rule "secret-values"');
        expect(leaks(got.stdout + got.stderr)).toBe(false);
      } finally {
        api.protobufFor = undefined;
      }
      // The session goes on.
      expect(await kubectl('get', 'pods', '-n', 'apps', '-o', 'name')).toMatchObject({ code: 0 });
    });
  });

  describe('bad input on the Kubernetes path', () => {
    const port = () => (proxy.address() as AddressInfo).port;
    const dial = async () => {
      const socket = connect({ host: '127.0.0.1', port: port() });
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      return {
        socket,
        received: () => Buffer.concat(chunks).toString('latin1'),
        closed: once(socket, 'close'),
      };
    };
    const raw = async (bytes: string) => {
      const client = await dial();
      client.socket.write(bytes);
      await client.closed;
      return client.received();
    };
    const statusOf = (answer: string) => JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as unknown;

    it('a request the API server would read otherwise than policy is a Forbidden Status, never sent', async () => {
      const before = api.requests.length;
      for (const [method, target] of [
        // The secrets of every namespace to kube-apiserver; a namespace named "secrets" once normalized.
        ['GET', '/api/v1/namespaces//secrets'],
        ['DELETE', '/api/v1/namespaces//pods'],
        ['DELETE', '/api/v1/namespaces/dev/pods/web-2/../../../prod/pods/web-1'],
        ['GET', '/api/v1/namespaces/apps/secrets?watch=false&watch=true'],
        ['GET', '/api/v1/namespaces/apps/secrets?watch=f'],
      ] as const) {
        const answer = await raw(
          `${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`,
        );
        expect(answer, target).toMatch(/^HTTP\/1\.1 403 /);
        const status = statusOf(answer) as { kind: string; reason: string; message: string };
        expect(status).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
        expect(status.message).toContain('could not be classified');
      }
      expect(api.requests.slice(before)).toEqual([]);
      expect((await kubectl('get', 'pod', 'web-1', '-n', 'prod', '-o', 'name')).stdout).toBe('pod/web-1\n');
    });

    it('malformed, oversized and stalled requests get a Status and are cut off while kubectl goes on', async () => {
      const malformed = await raw('GET /api/v1/pods HTTP/1.1\r\nHost : x\r\n\r\n');
      expect(malformed).toMatch(/^HTTP\/1\.1 400 /);
      expect(statusOf(malformed)).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
      const huge = await raw(`GET /api/v1/pods HTTP/1.1\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
      expect(huge).toMatch(/^HTTP\/1\.1 431 /);
      expect(statusOf(huge)).toMatchObject({ kind: 'Status', code: 431 });
      const posts = api.requests.filter((r) => r.method === 'POST');
      const smuggled = await raw(
        'POST /api/v1/namespaces/dev/configmaps HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      );
      expect(smuggled).toMatch(/^HTTP\/1\.1 400 /);

      const slow = await dial();
      slow.socket.write('GET /api/v1/namespaces/dev/pods HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      // Another client is served while the slow one dawdles.
      expect(await kubectl('get', 'pods', '-n', 'dev', '-o', 'name')).toMatchObject({ code: 0 });
      await slow.closed;
      expect(slow.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(statusOf(slow.received())).toMatchObject({ kind: 'Status', reason: 'Timeout' });
      // The smuggling-shaped request never reached the API server.
      expect(api.requests.filter((r) => r.method === 'POST')).toEqual(posts);
    });

    it('a half-open exec (the client stops sending after the upgrade) ends at the API server too', async () => {
      const before = api.openStreams();
      const exec = await dial();
      exec.socket.write(
        [
          'GET /api/v1/namespaces/dev/pods/web-2/exec?command=cat&stdin=true&stdout=true HTTP/1.1',
          'Host: 127.0.0.1',
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Sec-WebSocket-Version: 13',
          `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}`,
          'Sec-WebSocket-Protocol: v5.channel.k8s.io',
          '',
          '',
        ].join('\r\n'),
      );
      await expect.poll(() => exec.received(), { timeout: 10_000 }).toMatch(/^HTTP\/1\.1 101 /);
      expect(api.openStreams()).toBe(before + 1);
      exec.socket.end();
      await exec.closed;
      await expect.poll(() => api.openStreams(), { timeout: 10_000 }).toBe(before);
      const still = await kubectl('exec', '-n', 'dev', 'web-2', '--', 'echo', 'still', 'fine');
      expect(still, still.stderr).toMatchObject({
        code: 0,
        stdout: 'still fine\n',
      });
    });
  });

  describe('exec recorded for replay', () => {
    /** The recording's events and what it replays as output. */
    const replay = (text: string) => {
      const parsed = parseAsciicast(text);
      if (!parsed.ok) throw new Error(parsed.message);
      return {
        output: asciicastOutput(parsed.events),
        input: parsed.events
          .filter((e) => e.code === 'i')
          .map((e) => e.data)
          .join(''),
      };
    };

    it('an exec’s recording replays exactly what kubectl printed', async () => {
      const before = commands.recordings.length;
      const ran = await kubectl('exec', '-n', 'dev', 'web-2', '--', 'echo', 'recorded', 'words');
      expect(ran).toMatchObject({ code: 0, stdout: 'recorded words\n' });
      await expect.poll(() => commands.recordings.at(-1)?.final, { timeout: 10_000 }).toBe(true);
      expect(commands.recordings.length).toBe(before + 1);
      const recording = commands.recordings.at(-1)!;
      expect(recording.start).toMatchObject({ kind: 'exec', command: 'echo recorded words' });
      expect(replay(recording.text)).toEqual({ output: ran.stdout, input: '' });
    });

    it('kubectl exec -it records what was typed and printed, through a terminal', async () => {
      const before = commands.recordings.length;
      // `script` gives kubectl the terminal -t needs.
      const shell = spawn('script', [
        '-qfec',
        `kubectl --kubeconfig ${kubeconfig} exec -it -n dev web-2 -- cat`,
        '/dev/null',
      ]);
      children.push(shell);
      let printed = '';
      shell.stdout.on('data', (c: Buffer) => (printed += c.toString()));
      await expect.poll(() => commands.recordings.length, { timeout: 15_000 }).toBe(before + 1);
      shell.stdin.write('typed line\r');
      await expect.poll(() => printed, { timeout: 10_000 }).toContain('typed line');
      shell.stdin.write('\x04');
      await once(shell, 'exit');
      const recording = commands.recordings.at(-1)!;
      await expect.poll(() => recording.final, { timeout: 10_000 }).toBe(true);
      const { output, input } = replay(recording.text);
      expect(input).toBe('typed line\r\x04');
      expect(output).toContain('typed line');
      expect(printed).toContain(output);
    });

    it('exec over SPDY, which cannot be recorded, is refused with a Status naming the fix', async () => {
      const socket = connect({ host: '127.0.0.1', port: (proxy.address() as AddressInfo).port });
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      let answer = '';
      socket.on('data', (c: Buffer) => (answer += c.toString('latin1')));
      const closed = once(socket, 'close');
      socket.write(
        'POST /api/v1/namespaces/dev/pods/web-2/exec?command=id&stdout=true HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
          'Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n',
      );
      await closed;
      expect(answer).toMatch(/^HTTP\/1\.1 403 /);
      const status = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { message: string };
      expect(status).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
      expect(status.message).toContain('exec over SPDY/3.1 cannot be recorded; use kubectl 1.30 or later');
    });
  });

  describe('a read-only session', () => {
    const readOnly = new PolicyCommands(POLICY, { ...context, readOnly: true });
    let server: Server;
    beforeAll(async () => {
      server = kubeProxy(readOnly);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    });
    afterAll(() => void server.close());
    const url = (path: string) => `127.0.0.1:${(server.address() as AddressInfo).port}${path}`;

    it('switches to WebSocket for nothing: a console authorized as get (KubeVirt) would take typed input', async () => {
      const vm = new WebSocket(
        `ws://${url('/apis/subresources.kubevirt.io/v1/namespaces/dev/virtualmachineinstances/vm1/console')}`,
        ['plain.kubevirt.io'],
      );
      const outcome = await new Promise<number | 'open'>((resolve) => {
        vm.on('open', () => {
          vm.send('shutdown -h now\n');
          resolve('open');
        });
        vm.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        vm.on('error', () => undefined);
      });
      vm.terminate();
      expect(outcome).toBe(403);
      expect(readOnly.decisions.at(-1)).toMatch(/^deny GET \/apis\/subresources\.kubevirt\.io/);
      expect(api.consoleInput).toEqual([]);
      // Reads go on.
      const pods = await run('curl', ['-sS', `http://${url('/api/v1/namespaces/dev/pods')}`]);
      expect(JSON.parse(pods.stdout)).toMatchObject({ kind: 'PodList' });
    });
  });

  describe('@kubernetes/client-node through the same session', () => {
    const client = () => {
      const config = new KubeConfig();
      config.loadFromFile(kubeconfig);
      return config;
    };

    it('reads, lists and watches Secrets masked', async () => {
      const config = client();
      const core = config.makeApiClient(CoreV1Api);
      const secret = await core.readNamespacedSecret({ name: 'db', namespace: 'apps' });
      expect(secret.data).toMatchObject({ password: MASKED_BASE64 });
      const list = await core.listNamespacedSecret({ namespace: 'apps' });
      expect(list.items.map((item: V1Secret) => item.data?.['password'])).toContain(MASKED_BASE64);
      expect(JSON.stringify(list)).not.toContain(SECRET_B64);

      const seen: V1Secret[] = [];
      const watching = await new Watch(config).watch(
        '/api/v1/namespaces/apps/secrets',
        {},
        (_type: string, object: V1Secret) => seen.push(object),
        () => undefined,
      );
      api.put('secrets', { metadata: { name: 'from-node', namespace: 'apps' }, data: { key: SECRET_B64 } });
      await expect
        .poll(() => seen.some((s) => s.metadata?.name === 'from-node'), { timeout: 10_000 })
        .toBe(true);
      watching.abort();
      expect(seen.find((s) => s.metadata?.name === 'from-node')?.data).toEqual({ key: MASKED_BASE64 });
      expect(JSON.stringify(seen)).not.toContain(SECRET_B64);
    });

    it('execs over WebSocket, recorded as it printed', async () => {
      const before = commands.recordings.length;
      const stdout = new PassThrough();
      let printed = '';
      stdout.on('data', (c: Buffer) => (printed += c.toString()));
      const status = new Promise<unknown>((resolve) => {
        void new Exec(client()).exec(
          'dev',
          'web-2',
          'app',
          ['echo', 'from', 'node'],
          stdout,
          null,
          null,
          false,
          resolve,
        );
      });
      expect(await status).toMatchObject({ status: 'Success' });
      await expect.poll(() => printed, { timeout: 10_000 }).toBe('from node\n');
      await expect.poll(() => commands.recordings.at(-1)?.final, { timeout: 10_000 }).toBe(true);
      expect(commands.recordings.length).toBe(before + 1);
      const parsed = parseAsciicast(commands.recordings.at(-1)!.text);
      expect(parsed.ok && asciicastOutput(parsed.events)).toBe(printed);
    });
  });
});
