import { describe, expect, it } from 'vitest';
import { decideCommand, maskingRulesFor, parsePolicy, type KubernetesCommandFacts } from '@tollgate/policy';
import fc from 'fast-check';
import { forwardedRequest, type HttpHeader, type RequestHead } from '@tollgate/protocol-http';
import { execRecordingTap } from '../exec/exec-recording.tap';
import {
  JSON_PATCH_PEEK_BYTES,
  KUBERNETES_FORWARDING,
  kubernetesBodyPeek,
  kubernetesRequestFacts,
  kubernetesResponseRewrite,
} from './kubernetes.engine';

const head = (method: string, target: string): RequestHead => ({
  kind: 'request',
  method,
  target,
  version: '1.1',
  headers: [['Host', 'k8s']],
});

const facts = (method: string, target: string) =>
  kubernetesRequestFacts(head(method, target)) as KubernetesCommandFacts;

describe('kubernetesResponseRewrite: the Table kubectl get prints', () => {
  const parsed = parsePolicy(
    `version: 1
masking:
  - name: secret-values
    match: {protocol: kubernetes}
    kubernetes: {resources: [secrets]}
  - name: api-tokens
    match: {protocol: kubernetes}
    kubernetes: {resources: [apitokens], groups: [auth.example.com], fields: [spec]}
  - name: pod-specs
    match: {protocol: kubernetes}
    kubernetes: {resources: [pods], groups: [''], fields: [spec]}
`,
    'policy.yaml',
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const masking = maskingRulesFor(parsed.policy, {
    subject: { subject: 'user:alice', groups: [], actorChain: [] },
    connection: { name: 'k8s', protocol: 'kubernetes', tags: {} },
  });
  const printed = (target: string, table: unknown): unknown => {
    const rewrite = kubernetesResponseRewrite(masking, facts('GET', target));
    const text = JSON.stringify(table);
    const body = rewrite?.response(
      {
        kind: 'response',
        version: '1.1',
        status: 200,
        reason: 'OK',
        headers: [['Content-Type', 'application/json']],
      },
      { kind: 'length', length: text.length },
    );
    if (body === undefined || typeof body === 'string') throw new Error(`not masked: ${body}`);
    return JSON.parse(Buffer.concat([body.write(Buffer.from(text)), body.end()]).toString());
  };
  const table = (columns: string[], cells: unknown[]) => ({
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    columnDefinitions: columns.map((name, i) => ({ name, type: 'string', format: i === 0 ? 'name' : '' })),
    rows: [{ cells, object: { kind: 'PartialObjectMetadata', metadata: { name: cells[0] } } }],
  });

  it('masks the cells a custom resource’s printer columns print (a masked field’s value), keeping its name', () => {
    // additionalPrinterColumns: [{name: Token, jsonPath: .spec.token}]
    const out = printed(
      '/apis/auth.example.com/v1/namespaces/dev/apitokens',
      table(['Name', 'Token', 'Age'], ['ci', 'tok-live-123', '3d']),
    );
    expect(JSON.stringify(out)).not.toContain('tok-live-123');
    expect(out).toMatchObject({ rows: [{ cells: ['ci', '********', '********'] }] });
  });

  it('masks the cells of a core printer that prints a masked field (a pod’s NODE is spec.nodeName)', () => {
    const out = printed(
      '/api/v1/namespaces/dev/pods',
      table(['Name', 'Ready', 'Status', 'Node'], ['web-1', '1/1', 'Running', 'node-secret-7']),
    );
    expect(JSON.stringify(out)).not.toContain('node-secret-7');
  });

  it('relays the cells of the API server’s own Secret printer (name, type, key count, age)', () => {
    const out = printed(
      '/api/v1/namespaces/dev/secrets',
      table(['Name', 'Type', 'Data', 'Age'], ['db', 'Opaque', 1, '3d']),
    );
    expect(out).toMatchObject({ rows: [{ cells: ['db', 'Opaque', 1, '3d'] }] });
  });
});

describe('kubernetesRequestFacts: the request as kube-apiserver reads it, or not at all', () => {
  // kube-apiserver splits the raw (decoded) path on `/` and resolves nothing: a path the engine
  // would have to normalize first reads as another request there (`namespaces//secrets` is the
  // secrets of every namespace, with no namespace for a rule to match).
  it.each([
    ['GET', '/api/v1/namespaces//secrets'],
    ['GET', '/api/v1/namespaces/%2Fsecrets'],
    ['DELETE', '/api/v1/namespaces/dev/pods/x/../../../prod/pods/web-1'],
    ['DELETE', '/api/v1/namespaces/dev/pods/%2e%2e/../prod/pods/web-1'],
    ['GET', '/api/v1/namespaces/prod/./secrets'],
    ['GET', '/api/v1/namespaces/prod\\secrets'],
    ['GET', '/api/v1/namespaces/prod/secrets;x=1'],
    ['GET', '//api/v1/namespaces/prod/secrets'],
    ['GET', '/api/v1/namespaces/p/pods/w/proxy/../../../../secrets'],
    ['GET', '/api/v1/namespaces/prod/secrets?watch=false&watch=true'],
    ['GET', '/api/v1/namespaces/prod/secrets?watch=f'],
  ])('%s %s is not classified', (method, target) => {
    expect(facts(method, target).parseError).toBeDefined();
  });

  it('an unclassified request on a session with Secrets masked has every masked field masked in its answer', () => {
    const parsed = parsePolicy(
      'version: 1\nmasking:\n  - name: secret-values\n    match: {protocol: kubernetes}\n    kubernetes: {resources: [secrets]}\n',
      'policy.yaml',
    );
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const masking = maskingRulesFor(parsed.policy, {
      subject: { subject: 'user:alice', groups: [], actorChain: [] },
      connection: { name: 'k8s', protocol: 'kubernetes', tags: {} },
    });
    const rewrite = kubernetesResponseRewrite(masking, facts('GET', '/api/v1/namespaces//secrets'));
    const secret = Buffer.from('hunter2').toString('base64');
    const list = JSON.stringify({
      kind: 'SecretList',
      items: [{ metadata: { name: 'db' }, data: { pw: secret } }],
    });
    const body = rewrite?.response(
      {
        kind: 'response',
        version: '1.1',
        status: 200,
        reason: 'OK',
        headers: [['Content-Type', 'application/json']],
      },
      { kind: 'length', length: list.length },
    );
    if (body === undefined || typeof body === 'string') throw new Error(`not masked: ${body}`);
    const out = Buffer.concat([body.write(Buffer.from(list)), body.end()]).toString();
    expect(out).toContain('"pw"');
    expect(out).not.toContain(secret);
  });

  it('reads what kubectl sends as it is', () => {
    expect(facts('GET', '/api/v1/namespaces/prod/secrets/db?')).toMatchObject({ verb: 'get', name: 'db' });
    expect(facts('GET', '/api/v1/namespaces/prod/secrets/')).toMatchObject({
      verb: 'list',
      namespace: 'prod',
    });
    expect(facts('GET', '/api/v1/secrets?limit=500')).toMatchObject({ verb: 'list', resource: 'secrets' });
    expect(
      facts('GET', '/api/v1/namespaces/kube-system/services/https:metrics-server:443/proxy/metrics'),
    ).toMatchObject({ verb: 'proxy', resource: 'services', name: 'https:metrics-server:443' });
  });
});

describe('KUBERNETES_FORWARDING: only the agent’s credential reaches the API server', () => {
  const forward = (headers: HttpHeader[]) =>
    forwardedRequest(
      { ...head('GET', '/api/v1/namespaces/p/pods/w/portforward?ports=80'), headers },
      {
        host: 'k8s:6443',
        basePath: '',
        inject: [['Authorization', 'Bearer agent']],
        ...KUBERNETES_FORWARDING,
      },
    ).headers;

  it('drops the caller’s Authorization, impersonation, front-proxy headers and WebSocket bearer tokens', () => {
    const credential = fc.constantFrom<HttpHeader>(
      ['authorization', 'Bearer caller'],
      ['AUTHORIZATION', 'Basic eDp5'],
      ['Impersonate-User', 'system:admin'],
      ['impersonate-group', 'system:masters'],
      ['Impersonate-Uid', '0'],
      ['Impersonate-Extra-Scopes', 'all'],
      ['X-Remote-User', 'admin'],
      ['X-Remote-Group', 'system:masters'],
      ['Sec-WebSocket-Protocol', 'base64url.bearer.authorization.k8s.io.Y2FsbGVy'],
      ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io, Base64Url.Bearer.Authorization.K8s.Io.Y2FsbGVy'],
      ['Proxy-Authorization', 'Basic eDp5'],
      ['Connection', 'Authorization'],
    );
    fc.assert(
      fc.property(fc.array(credential, { maxLength: 6 }), (headers) => {
        const out = forward(headers);
        const text = JSON.stringify(out).toLowerCase();
        return (
          !/caller|eDp5|impersonate|x-remote|system:|bearer\.authorization/i.test(text) &&
          out.filter(([name]) => name.toLowerCase() === 'authorization').length === 1 &&
          out.some(([name, value]) => name === 'Authorization' && value === 'Bearer agent')
        );
      }),
    );
    expect(
      forward([['Sec-WebSocket-Protocol', 'v5.channel.k8s.io, base64url.bearer.authorization.k8s.io.eA']]),
    ).toContainEqual(['Sec-WebSocket-Protocol', 'v5.channel.k8s.io']);
  });
});

describe('execRecordingTap reads the exec as the API server will run it', () => {
  const exec = (query: string) => {
    const request: RequestHead = {
      ...head('GET', `/api/v1/namespaces/p/pods/w/exec?${query}`),
      headers: [
        ['Connection', 'Upgrade'],
        ['Upgrade', 'websocket'],
        ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io'],
      ],
    };
    return {
      tap: execRecordingTap(
        kubernetesRequestFacts(request),
        request,
        () => {
          throw new Error('not recorded in this test');
        },
        () => undefined,
      ),
    };
  };

  it('refuses an exec whose command Go would read otherwise (a pair with ";" is dropped there)', () => {
    expect(exec('command=rm&command=-rf;&command=/&stdout=true').tap).toMatch(/cannot be recorded .*";"/);
    expect(exec('command=ls&command=%zz').tap).toMatch(/malformed percent-escape/);
    expect(typeof exec('command=ls&command=-l&stdout=true&tty=t').tap).toBe('object');
  });
});

describe('a JSON patch is read for what it reads of the stored object', () => {
  const patchHead = (...types: string[]): RequestHead => ({
    ...head('PATCH', '/api/v1/namespaces/apps/secrets/db'),
    headers: [['Host', 'k8s'], ...types.map((t): HttpHeader => ['Content-Type', t])],
  });
  const read = (body: string, complete = true) =>
    kubernetesRequestFacts(patchHead('application/json-patch+json'), {
      payload: Buffer.from(body),
      complete,
    }) as KubernetesCommandFacts;

  it('is peeked only for PATCH with a JSON patch media type, in any Content-Type header and any case', () => {
    expect(kubernetesBodyPeek(patchHead('application/json-patch+json; charset=utf-8'))).toBe(
      JSON_PATCH_PEEK_BYTES,
    );
    expect(kubernetesBodyPeek(patchHead('Application/JSON-Patch+JSON'))).toBe(JSON_PATCH_PEEK_BYTES);
    expect(kubernetesBodyPeek(patchHead('application/merge-patch+json', 'application/json-patch+json'))).toBe(
      JSON_PATCH_PEEK_BYTES,
    );
    expect(kubernetesBodyPeek(patchHead('application/strategic-merge-patch+json'))).toBeUndefined();
    expect(kubernetesBodyPeek(head('POST', '/api/v1/namespaces/apps/secrets'))).toBeUndefined();
  });

  it('names the pointers of copy, move and test, as sent', () => {
    expect(
      read(
        JSON.stringify([
          { op: 'add', path: '/metadata/labels', value: {} },
          { op: 'copy', from: '/data/a', path: '/x' },
          { op: 'move', from: 'y/data', path: '/z' },
          { op: 'test', path: '/data/b', value: 'x' },
          { op: 'replace', path: '/data/c', value: 'x' },
        ]),
      ),
    ).toMatchObject({
      verb: 'patch',
      resource: 'secrets',
      patchReads: [
        { op: 'copy', pointer: '/data/a' },
        { op: 'move', pointer: 'y/data' },
        { op: 'test', pointer: '/data/b' },
      ],
    });
    // Escaped key names and duplicates read as Go reads them (decoded, the last one).
    expect(
      read('[{"\\u006fp":"copy","from":"/metadata/name","fr\\u006fm":"/data","path":"/x"}]').patchReads,
    ).toEqual([{ op: 'copy', pointer: '/data' }]);
    // A pointer that is not a string reads everything.
    expect(read('[{"op":"copy","from":["/data"],"path":"/x"}]').patchReads).toEqual([
      { op: 'copy', pointer: '' },
    ]);
    expect(read('[{"op":"add","path":"/x","value":1}]').patchReads).toBeUndefined();
  });

  it('is unread when it is not whole or not a patch', () => {
    expect(read('[', true).patchUnread).toBe('the body is not JSON');
    expect(read('{"op":"copy"}').patchUnread).toContain('not a JSON patch');
    expect(read('[1]').patchUnread).toContain('not an object');
    expect(read('[]', false).patchUnread).toContain(`over ${JSON_PATCH_PEEK_BYTES} bytes`);
  });
});

describe('a server-side apply on a masked resource', () => {
  const parsed = parsePolicy(
    `version: 1
masking:
  - name: secret-values
    match: {protocol: kubernetes}
    kubernetes: {resources: [secrets]}
`,
    'test.yaml',
  );
  if (!parsed.ok) throw new Error('bad test policy');
  const context = {
    subject: { subject: 'user:dev', groups: [], actorChain: [] },
    connection: { name: 'k8s', protocol: 'kubernetes', tags: {} },
    readOnly: false,
  };
  const apply = (target: string, type: string) =>
    decideCommand(
      parsed.policy,
      context,
      kubernetesRequestFacts({
        ...head('PATCH', target),
        headers: [
          ['Host', 'k8s'],
          ['Content-Type', type],
        ],
      }),
    );

  it('is denied by the masking rule: its conflict (409 or not) tells whether a masked value is the one sent', () => {
    // `kubectl apply --server-side --dry-run=server` of a Secret whose data holds a guess: the API
    // server reports a conflict with the field's manager only where the stored value differs.
    for (const type of ['application/apply-patch+yaml', 'Application/Apply-Patch+YAML; charset=utf-8']) {
      const decision = apply('/api/v1/namespaces/apps/secrets/db?fieldManager=x&dryRun=All', type);
      expect(decision, type).toMatchObject({ decision: 'deny', rule: 'secret-values' });
      expect(decision.decision === 'deny' ? decision.message : '').toContain('server-side apply');
    }
    // Elsewhere, or as a merge patch (which succeeds whatever the stored value), it goes on.
    expect(apply('/api/v1/namespaces/apps/configmaps/db', 'application/apply-patch+yaml').decision).toBe(
      'allow',
    );
    expect(apply('/api/v1/namespaces/apps/secrets/db', 'application/merge-patch+json').decision).toBe(
      'allow',
    );
  });
});
