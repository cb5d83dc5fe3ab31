import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardedRequest, HttpSession } from '@tollgate/protocol-http';
import { PolicyCommands } from '@tollgate/protocol-http/test-support';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '@tollgate/testing';
import { maskingRulesFor } from '@tollgate/policy';
import {
  KUBERNETES_FORWARDING,
  kubernetesBodyPeek,
  kubernetesRequestFacts,
  kubernetesResponseRewrite,
} from './kubernetes.engine';
import { execRecordingTap } from '../exec/exec-recording.tap';
import { kubernetesReplies } from './kubernetes-status';

/**
 * Requests shaped so that the agent and the API server (or what stands in front of it) could read
 * them differently: what the API server runs must be what policy decided on, and a masked value
 * must never be in the bytes the client gets.
 */
const POLICY = `
version: 1
guardrails:
  - name: no-delete-in-prod
    deny: {kubernetes: {verbs: [delete, deletecollection], namespaces: [prod]}}
  - name: no-exec
    deny: {kubernetes: {verbs: [exec, attach]}}
masking:
  - name: secret-values
    match: {protocol: kubernetes}
    kubernetes: {resources: [secrets]}
`;

const SECRET = 'hunter2-db-password';
const SECRET_B64 = Buffer.from(SECRET).toString('base64');
const leaks = (text: string) => text.includes(SECRET) || text.includes(SECRET_B64);

const context = {
  subject: { subject: 'user:alice', groups: ['dev'], actorChain: [] },
  connection: { name: 'k8s', protocol: 'kubernetes', tags: {} },
  readOnly: false,
};

const listen = async (server: Server): Promise<number> => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
};

const dial = (port: number) =>
  new Promise<Socket>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => resolve(socket));
    socket.once('error', reject);
  });

/** A Kubernetes session in front of `targetPort`, as the agent builds it. */
const kubeProxy = (targetPort: number, policy: string, basePath = '') => {
  const commands = new PolicyCommands(policy, context);
  const masking = maskingRulesFor(commands.policy, context);
  return createServer((socket) => {
    socket.on('error', () => undefined);
    void new HttpSession(socket, {
      connect: () => dial(targetPort),
      forward: (head) =>
        forwardedRequest(head, {
          host: `127.0.0.1:${targetPort}`,
          basePath,
          inject: [['Authorization', 'Bearer agent-sa-token']],
          ...KUBERNETES_FORWARDING,
        }),
      classify: kubernetesRequestFacts,
      peekBody: kubernetesBodyPeek,
      rewrite: (_head, facts) => kubernetesResponseRewrite(masking, facts),
      tap: (head, facts) => execRecordingTap(facts, head, commands.record, () => socket.destroy()),
      commands,
      replies: kubernetesReplies,
      headTimeoutMs: 1_000,
    }).run();
  });
};

/** Writes the bytes and reads until the relay closes the connection. */
const exchange = async (port: number, bytes: string): Promise<string> => {
  const socket = await dial(port);
  socket.on('error', () => undefined);
  let text = '';
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.write(bytes);
  await once(socket, 'close');
  return text;
};

const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
const request = (method: string, target: string, ...headers: string[]) =>
  [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', ...headers, '', ''].join('\r\n');

describe('Kubernetes doors: what the API server runs is what policy decided on', () => {
  let api: FakeKubeApiServer;
  let proxy: Server;
  let port: number;

  beforeAll(async () => {
    api = await startFakeKubeApiServer('agent-sa-token');
    api.put('namespaces', { metadata: { name: 'prod' } });
    api.put('pods', { metadata: { name: 'web-1', namespace: 'prod' }, spec: { containers: [] } });
    api.put('secrets', {
      metadata: { name: 'db', namespace: 'apps' },
      type: 'Opaque',
      data: { password: SECRET_B64 },
    });
    proxy = kubeProxy(Number(new URL(api.url).port), POLICY);
    port = await listen(proxy);
  });

  afterAll(async () => {
    proxy.close();
    await api.close();
  });

  it.each([
    // The namespace itself is in namespace prod: deleting it deletes everything in it.
    ['DELETE', '/api/v1/namespaces/prod'],
    ['delete', '/api/v1/namespaces/prod/pods/web-1'],
    ['DELETE', 'http://elsewhere/api/v1/namespaces/prod/pods/web-1'],
    ['DELETE', '/api/v1/namespaces/prod%2Fpods%2Fweb-1'],
    ['DELETE', '/api/v1/namespaces/prod/pods/web-1/'],
    ['DELETE', '/api/v1/namespaces/prod/pods?fieldSelector=metadata.name%3Dweb-1'],
    ['DELETE', '/api/v1/namespaces/prod/pods/web-1?dryRun=All'],
    ['DELETE', '/api/v1/namespaces/dev/../prod/pods/web-1'],
    ['DELETE', '/api/v1/namespaces/dev/%2e%2e/prod/pods/web-1'],
    ['POST', '/api/v1/namespaces/dev/pods/web-2/exec?command=id'],
    ['POST', '/api/v1/namespaces/dev/pods/web-2/exec/?command=id'],
    ['POST', '/api/v1/namespaces/dev/pods/web-2/attach'],
  ])('%s %s is a Forbidden Status, never sent', async (method, target) => {
    const before = api.requests.length;
    const answer = await exchange(
      port,
      request(method, target, 'Connection: close', 'X-HTTP-Method-Override: GET'),
    );
    expect(statuses(answer)).toEqual([403]);
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
    });
    expect(api.requests.slice(before)).toEqual([]);
  });

  it('a denied request pipelined behind an allowed one is decided on its own, never sent', async () => {
    const before = api.requests.length;
    const answer = await exchange(
      port,
      request('GET', '/api/v1/namespaces/prod/pods/web-1') +
        request('DELETE', '/api/v1/namespaces/prod/pods/web-1', 'Connection: close'),
    );
    expect(statuses(answer)).toEqual([200, 403]);
    expect(api.requests.slice(before).map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /api/v1/namespaces/prod/pods/web-1',
    ]);
  });

  it.each([
    // DNS rebinding: a page of evil.example whose name now resolves to 127.0.0.1 reads the answers.
    ['Host: evil.example:8001'],
    ['Host: 10.0.0.7'],
    ['Host: localhost.evil.example'],
    // Cross-site requests a page sends to the listener itself (its answer unread, its effect done).
    ['Origin: https://evil.example'],
    ['Origin: null'],
    ['Sec-Fetch-Site: cross-site'],
  ])('a web page’s request (%s) never reaches the API server through the local listener', async (header) => {
    const before = api.requests.length;
    const lines = request('GET', '/api/v1/namespaces/prod/pods', header, 'Connection: close').split('\r\n');
    // The header given replaces the harness's own Host.
    const answer = await exchange(
      port,
      (header.startsWith('Host:') ? lines.filter((line) => line !== 'Host: 127.0.0.1') : lines).join('\r\n'),
    );
    expect(statuses(answer)).toEqual([403]);
    expect(answer).toContain('web page');
    expect(answer).not.toContain('web-1');
    expect(api.requests.slice(before)).toEqual([]);
  });

  it('the listener’s own names, and pages of the same machine, are served', async () => {
    for (const header of [
      'Host: localhost:8001',
      'Host: [::1]:8001',
      'Host: kube.localhost',
      'Origin: http://localhost:3000',
      'Sec-Fetch-Site: same-origin',
    ]) {
      const lines = request('GET', '/api/v1/namespaces/prod/pods', header, 'Connection: close').split('\r\n');
      const answer = await exchange(
        port,
        (header.startsWith('Host:') ? lines.filter((line) => line !== 'Host: 127.0.0.1') : lines).join(
          '\r\n',
        ),
      );
      expect(statuses(answer), header).toEqual([200]);
    }
  });

  it.each([
    ['Accept: application/yaml'],
    ['Accept: application/vnd.kubernetes.protobuf'],
    ['Accept: application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io, application/json'],
    ['Accept-Encoding: gzip'],
    ['Accept: */*'],
  ])('a Secret asked for with %s is JSON, uncompressed and masked', async (header) => {
    for (const target of [
      '/api/v1/namespaces/apps/secrets/db',
      '/api/v1/namespaces/apps/secrets',
      '/api/v1/secrets?limit=1',
    ]) {
      const before = api.requests.length;
      const answer = await exchange(port, request('GET', target, header, 'Connection: close'));
      expect(statuses(answer), target).toEqual([200]);
      expect(answer).toContain('"password":"');
      expect(leaks(answer), target).toBe(false);
      expect(api.requests.slice(before).map((r) => r.accept)).toEqual([
        expect.stringMatching(/^application\/json/),
      ]);
    }
  });

  it.each([
    ['/api/v1/namespaces/apps/secrets?watch=1'],
    ['/api/v1/namespaces/apps/secrets?watch=true&resourceVersion=0'],
  ])('a watch of Secrets (%s) carries masked events only', async (target) => {
    const socket = await dial(port);
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
    socket.write(request('GET', target));
    await expect.poll(() => text, { timeout: 10_000 }).toContain('"ADDED"');
    api.put('secrets', {
      metadata: { name: 'db', namespace: 'apps' },
      type: 'Opaque',
      data: { password: SECRET_B64, again: SECRET_B64 },
    });
    await expect.poll(() => text, { timeout: 10_000 }).toContain('"MODIFIED"');
    socket.destroy();
    expect(leaks(text)).toBe(false);
  });
});

describe('Kubernetes doors: a connection to a cluster under a base path (Rancher, a gateway)', () => {
  it('never reaches another cluster behind the same server, even where no rule reads the request', async () => {
    const received: string[] = [];
    const target = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.on('data', (bytes: Buffer) => {
        received.push(bytes.toString('latin1').split('\r\n')[0]!);
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');
      });
    });
    const targetPort = await listen(target);
    // Nothing but the base path keeps the caller on cluster c-1.
    const proxy = kubeProxy(targetPort, 'version: 1\n', '/k8s/clusters/c-1');
    const port = await listen(proxy);
    try {
      const ok = await exchange(port, request('GET', '/api/v1/namespaces/dev/pods', 'Connection: close'));
      expect(statuses(ok)).toEqual([200]);
      for (const escape of [
        '/../c-2/api/v1/namespaces/prod/secrets',
        '/%2e%2e/c-2/api/v1/namespaces/prod/secrets',
        '/api/..%2F..%2Fc-2/api/v1/namespaces/prod/secrets',
        '/..;/c-2/api/v1/namespaces/prod/secrets',
      ]) {
        const answer = await exchange(port, request('DELETE', escape, 'Connection: close'));
        expect(statuses(answer), escape).toEqual([400]);
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
          kind: 'Status',
          reason: 'BadRequest',
          message: expect.stringContaining('base path /k8s/clusters/c-1') as unknown,
        });
      }
      expect(received).toEqual(['GET /k8s/clusters/c-1/api/v1/namespaces/dev/pods HTTP/1.1']);
    } finally {
      proxy.close();
      target.close();
    }
  });
});

describe('Kubernetes doors: an exec decided as WebSocket goes on as WebSocket', () => {
  it('is offered to the API server as WebSocket only, whatever other Upgrade headers the caller adds', async () => {
    const heads: string[] = [];
    // kube-apiserver reads Upgrade with Header.Get: "websocket, SPDY/3.1" is not WebSocket to it,
    // and its SPDY upgrader takes any Upgrade that contains spdy/3.1 (a stream nobody records).
    const target = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (bytes: Buffer) => {
        const head = bytes.toString('latin1');
        heads.push(head);
        const upgrade = /\r\nUpgrade: ([^\r]*)/i.exec(head)?.[1] ?? '';
        socket.write(
          upgrade.toLowerCase() === 'websocket'
            ? 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n'
            : 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n',
        );
      });
    });
    const targetPort = await listen(target);
    const proxy = kubeProxy(targetPort, 'version: 1\n');
    const port = await listen(proxy);
    try {
      const socket = await dial(port);
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.write(
        request(
          'GET',
          '/api/v1/namespaces/dev/pods/web-2/exec?command=id&stdout=true',
          'Connection: Upgrade',
          'Upgrade: websocket',
          'Upgrade: SPDY/3.1',
          'Sec-WebSocket-Version: 13',
          `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}`,
          'Sec-WebSocket-Protocol: v5.channel.k8s.io',
          'X-Stream-Protocol-Version: v4.channel.k8s.io',
        ),
      );
      await expect.poll(() => heads.length, { timeout: 10_000 }).toBe(1);
      const offered = [...heads[0]!.matchAll(/\r\nUpgrade: ([^\r]*)/gi)].map((m) => m[1]);
      expect(offered).toEqual(['websocket']);
      await expect.poll(() => text, { timeout: 10_000 }).toMatch(/^HTTP\/1\.1 101 /);
      expect(text).toMatch(/\r\nUpgrade: websocket\r\n/i);
      socket.destroy();
    } finally {
      proxy.close();
      target.close();
    }
  });
});
