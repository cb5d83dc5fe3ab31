import { serviceAccountToken } from '@tollgate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: [group:tollgate-admins]
    connections: ["*"]
    verbs: [connect, exec, admin, "audit:read", review]
  - name: dba
    subjects: [group:dba]
    connections: [tag:env=prod]
    verbs: [connect, exec, review]
  - name: devs
    subjects: [group:developers]
    connections: [tag:env=dev]
    verbs: [connect]
  - name: auditors
    subjects: [group:auditors]
    connections: ["*"]
    verbs: ["audit:read"]
access_requests:
  - name: prod-break-glass
    requesters: [group:developers]
    connections: [tag:env=prod]
    verbs: [connect, exec]
    reviewers: [group:dba]
    max_duration: 2h
`;

interface Access {
  verbs: string[];
  connections: { name: string; protocol: string; verbs: string[]; requestable: string[] }[];
}

/**
 * What the console and `tollgate ls` read about the caller and about a connection: the same
 * decisions RBAC makes (roles, token scopes, grants), as views that grant nothing.
 */
describe('caller access and connection reach', () => {
  let gw: TestGateway;
  const secrets: Record<string, string> = {};
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const token = async (name: string, scope?: string) =>
    (await serviceAccountToken(gw.url, name, secrets[name], scope)).access_token;

  beforeAll(async () => {
    gw = await startTestGateway();
    for (const [name, groups] of [
      ['dba-bot', ['dba']],
      ['dev-bot', ['developers']],
      ['audit-bot', ['auditors']],
      ['nobody', []],
    ] as const) {
      const created = await gw.request('POST', '/api/v1/service-accounts', { name, groups });
      secrets[name] = (created.body as { clientSecret: string }).clientSecret;
    }
    for (const [name, env, protocol] of [
      ['pg-prod', 'prod', 'postgres'],
      ['pg-dev', 'dev', 'postgres'],
      ['cache-dev', 'dev', 'tcp'],
    ] as const) {
      const target =
        protocol === 'tcp' ? { host: '10.0.0.9', port: 6379 } : { host: '10.0.0.5', username: 'app' };
      const created = await gw.request('POST', '/api/v1/connections', {
        name,
        protocol,
        tags: { env },
        target,
      });
      expect(created.status).toBe(201);
    }
    expect((await gw.request('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('tells each caller its gateway verbs and the connections it may use or ask for, and nothing else', async () => {
    const read = async (name: string, scope?: string) => {
      const response = await gw.request('GET', '/api/v1/me/access', undefined, as(await token(name, scope)));
      expect(response.status).toBe(200);
      return response.body as Access;
    };
    const dba = await read('dba-bot');
    expect(dba.verbs).toEqual(['review']);
    expect(dba.connections).toEqual([
      expect.objectContaining({
        name: 'pg-prod',
        protocol: 'postgres',
        verbs: ['connect', 'exec'],
        requestable: [],
      }),
    ]);

    const dev = await read('dev-bot');
    expect(dev.verbs).toEqual([]);
    expect(dev.connections.map((c) => [c.name, c.verbs, c.requestable])).toEqual([
      ['cache-dev', ['connect'], []],
      ['pg-dev', ['connect'], []],
      ['pg-prod', [], ['connect', 'exec']],
    ]);

    expect(await read('audit-bot')).toMatchObject({ verbs: ['audit:read'], connections: [] });
    expect(await read('nobody')).toMatchObject({ verbs: [], connections: [] });

    // A token's scopes narrow what the roles give.
    const narrowed = await read('dba-bot', 'connect:pg-prod');
    expect(narrowed.verbs).toEqual([]);
    expect(narrowed.connections).toEqual([expect.objectContaining({ name: 'pg-prod', verbs: ['connect'] })]);

    const admin = (await gw.request('GET', '/api/v1/me/access')).body as Access;
    expect(admin.verbs).toEqual(['admin', 'audit:read', 'review']);
    expect(admin.connections.map((c) => c.name)).toEqual(['cache-dev', 'pg-dev', 'pg-prod']);
  });

  it('needs a token, and records no authorization decision (it grants nothing)', async () => {
    expect((await gw.request('GET', '/api/v1/me/access', undefined, { authorization: '' })).status).toBe(401);
    const before = (await gw.request('GET', '/api/v1/audit?order=desc&limit=1')).body as {
      items: { seq: string }[];
    };
    await gw.request('GET', '/api/v1/me/access', undefined, as(await token('dev-bot')));
    const after = (await gw.request('GET', `/api/v1/audit?after=${before.items[0].seq}&limit=50`)).body as {
      items: { action: string; subject: string }[];
    };
    expect(
      after.items.filter((e) => e.subject === 'sa:dev-bot' && e.action.startsWith('authorize:')),
    ).toEqual([]);
  });

  it('says who can reach a connection: covering roles and the known subjects they resolve to (admin only)', async () => {
    const reach = await gw.request('GET', '/api/v1/connections/pg-prod/reach');
    expect(reach.status).toBe(200);
    expect(reach.body).toMatchObject({
      connection: 'pg-prod',
      policyVersion: 1,
      roles: [
        { role: 'admins', verbs: ['connect', 'exec'] },
        { role: 'dba', subjects: ['group:dba'], verbs: ['connect', 'exec'] },
      ],
      grants: [],
      truncated: false,
    });
    const subjects = (reach.body as { subjects: { subject: string; verbs: string[]; via: string[] }[] })
      .subjects;
    expect(subjects).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          subject: 'sa:dba-bot',
          kind: 'service-account',
          verbs: ['connect', 'exec'],
          via: ['dba'],
        }),
        expect.objectContaining({ subject: 'sa:bootstrap-admin', via: ['admins'] }),
      ]),
    );
    expect(subjects.map((s) => s.subject)).not.toContain('sa:dev-bot');
    expect(subjects.map((s) => s.subject)).not.toContain('sa:audit-bot');

    const devReach = (await gw.request('GET', '/api/v1/connections/cache-dev/reach')).body as {
      subjects: { subject: string; verbs: string[] }[];
    };
    expect(devReach.subjects).toContainEqual(
      expect.objectContaining({ subject: 'sa:dev-bot', verbs: ['connect'] }),
    );

    expect((await gw.request('GET', '/api/v1/connections/nope/reach')).status).toBe(404);
    const forbidden = await gw.request(
      'GET',
      '/api/v1/connections/pg-prod/reach',
      undefined,
      as(await token('dba-bot')),
    );
    expect(forbidden.status).toBe(403);
  });

  it("tells any signed-in caller the gateway's version and where agents and clients dial", async () => {
    const info = await gw.request('GET', '/api/v1/gateway', undefined, as(await token('nobody')));
    expect(info.status).toBe(200);
    const grpc = gw.gateway.grpcAddress;
    expect(info.body).toMatchObject({ grpcUrl: `http://${grpc}`, publicUrl: gw.url });
    expect((info.body as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/);
    expect((await gw.request('GET', '/api/v1/gateway', undefined, { authorization: '' })).status).toBe(401);
  });

  it('lists the audit log newest first and pages back with before', async () => {
    const newest = (await gw.request('GET', '/api/v1/audit?order=desc&limit=5')).body as {
      items: { seq: string }[];
    };
    const seqs = newest.items.map((e) => Number(e.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    const older = (await gw.request('GET', `/api/v1/audit?order=desc&limit=5&before=${seqs.at(-1)}`))
      .body as {
      items: { seq: string }[];
    };
    expect(Number(older.items[0].seq)).toBe(seqs.at(-1)! - 1);
    expect((await gw.request('GET', '/api/v1/audit?order=sideways')).status).toBe(400);
  });

  it('places each problem of a refused policy at its line and column', async () => {
    const bad = POLICY.replace('verbs: [connect]\n', 'verbs: [connect, sudo]\n');
    for (const path of ['/api/v1/policy', '/api/v1/policy/dry-run']) {
      const refused = await gw.request('POST', path, { document: bad, fileName: 'p.yaml' });
      expect(refused.status, path).toBe(400);
      const { errors } = refused.body as {
        errors: { field: string; message: string; line: number; column: number }[];
      };
      expect(errors.map(({ field, line, column }) => ({ field, line, column }))).toEqual([
        { field: 'document.roles[2].verbs[1]', line: 14, column: 22 },
      ]);
      expect(errors[0].message).toMatch(/^p\.yaml:14:22: roles\[2\]\.verbs\[1\]: /);
    }
  });
});
