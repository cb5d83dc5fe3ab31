import { serviceAccountToken } from '@tollgate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import { recordSession, RECORDED_TEXT } from '../../testing/recorded-session';
import type { SessionAuditContext } from '../audit/session-audit.service';

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
  - name: auditor-dev
    subjects: [group:dev-auditors]
    connections: [tag:env=dev]
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
      ['dev-audit-bot', ['dev-auditors']],
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

  /**
   * `audit:read` under a role limited by `connections` reads what those connections recorded, and
   * nothing else: records bound to no connection (logins, policy changes, admin routes) and those of
   * a deleted connection are for unrestricted readers only. A token's `audit:read:<glob>` scope
   * narrows it further, as scopes do for every verb.
   */
  describe('audit read scoped by connections', () => {
    let dev: SessionAuditContext;
    let prod: SessionAuditContext;
    let gone: SessionAuditContext;
    let reusedBefore: SessionAuditContext;
    let reusedAfter: SessionAuditContext;
    let swappedProd: SessionAuditContext;
    let swappedDev: SessionAuditContext;
    interface Listed {
      items: { id: string; connection: string }[];
    }
    interface Records {
      items: { seq: string; action: string; target: string | null }[];
    }
    const sessionsOf = async (bearer: string, query = '') => {
      const listed = await gw.request('GET', `/api/v1/sessions${query}`, undefined, as(bearer));
      expect(listed.status).toBe(200);
      return (listed.body as Listed).items.map((s) => s.id);
    };
    const recordsOf = async (bearer: string, query = '') => {
      const listed = await gw.request('GET', `/api/v1/audit${query}`, undefined, as(bearer));
      expect(listed.status).toBe(200);
      return (listed.body as Records).items;
    };
    const exportOf = async (bearer: string) => {
      const exported = await gw.request('GET', '/api/v1/audit/export', undefined, as(bearer));
      expect(exported.status).toBe(200);
      return (exported.body as string)
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { target: string | null });
    };
    const createConnection = async (name: string, env: string) =>
      expect(
        (
          await gw.request('POST', '/api/v1/connections', {
            name,
            protocol: 'postgres',
            tags: { env },
            target: { host: '10.0.0.5', username: 'app' },
          })
        ).status,
      ).toBe(201);
    const renameConnection = async (from: string, to: string) =>
      expect((await gw.request('PATCH', `/api/v1/connections/${from}`, { name: to })).status).toBe(200);
    const deleteConnection = async (name: string) =>
      expect((await gw.request('DELETE', `/api/v1/connections/${name}`)).status).toBe(204);

    beforeAll(async () => {
      dev = await recordSession(gw.gateway, 'pg-dev');
      prod = await recordSession(gw.gateway, 'pg-prod');
      // A dev connection since deleted: no tag to judge its records by any more.
      await createConnection('pg-gone', 'dev');
      gone = await recordSession(gw.gateway, 'pg-gone');
      await deleteConnection('pg-gone');
      // A prod connection deleted, and its name taken by a new dev connection: the new one's tags
      // do not reach back to what the old one recorded.
      await createConnection('pg-reused', 'prod');
      reusedBefore = await recordSession(gw.gateway, 'pg-reused');
      await deleteConnection('pg-reused');
      await createConnection('pg-reused', 'dev');
      reusedAfter = await recordSession(gw.gateway, 'pg-reused');
      // A prod connection renamed away, and an older dev connection renamed to its name: the dev
      // one holds the name only since its rename, so it does not take what prod recorded under it.
      await createConnection('dev-renamed', 'dev');
      await createConnection('pg-swapped', 'prod');
      swappedProd = await recordSession(gw.gateway, 'pg-swapped');
      await renameConnection('pg-swapped', 'pg-swapped-prod');
      await renameConnection('dev-renamed', 'pg-swapped');
      swappedDev = await recordSession(gw.gateway, 'pg-swapped');
    });

    it('a role limited to tag:env=dev reads the sessions, recordings and audit records of dev connections only', async () => {
      const devAuditor = await token('dev-audit-bot');
      const listed = await sessionsOf(devAuditor);
      expect(listed).toEqual(
        expect.arrayContaining([dev.sessionId, reusedAfter.sessionId, swappedDev.sessionId]),
      );
      for (const hidden of [prod, gone, reusedBefore, swappedProd])
        expect(listed).not.toContain(hidden.sessionId);
      expect(await sessionsOf(devAuditor, '?connection=pg-prod')).toEqual([]);
      // Filtered in the query: a page of one is the newest dev session, not an empty page.
      expect(await sessionsOf(devAuditor, '?limit=1')).toEqual([swappedDev.sessionId]);

      const shown = await gw.request('GET', `/api/v1/sessions/${dev.sessionId}`, undefined, as(devAuditor));
      expect(shown.status).toBe(200);
      expect((shown.body as { events: { kind: string }[] }).events.map((e) => e.kind)).toEqual([
        'session.open',
      ]);
      const played = await gw.request(
        'GET',
        `/api/v1/sessions/${dev.sessionId}/recording`,
        undefined,
        as(devAuditor),
      );
      expect(played.body).toBe(RECORDED_TEXT);
      // Out of scope is not found, as an id that never existed is: nothing tells the two apart.
      for (const hidden of [prod, gone, reusedBefore, swappedProd]) {
        for (const path of [
          `/api/v1/sessions/${hidden.sessionId}`,
          `/api/v1/sessions/${hidden.sessionId}/recording`,
        ]) {
          const refused = await gw.request('GET', path, undefined, as(devAuditor));
          expect(refused.status, path).toBe(404);
          expect(JSON.stringify(refused.body)).not.toMatch(/recording 1|forbidden|denied/i);
        }
      }

      const devTargets = [
        'connection:pg-dev',
        'connection:cache-dev',
        'connection:pg-reused',
        'connection:pg-swapped',
      ];
      const records = await recordsOf(devAuditor, '?limit=1000');
      expect(records.map((r) => r.target)).toContain('connection:pg-dev');
      expect(records.filter((r) => !devTargets.includes(r.target ?? ''))).toEqual([]);
      // Only the new pg-reused's session, not the old one's; only pg-swapped's since its rename.
      for (const name of ['pg-reused', 'pg-swapped']) {
        const opened = records.filter(
          (r) => r.target === `connection:${name}` && r.action === 'session.open',
        );
        expect(opened, name).toHaveLength(1);
      }
      // Paging counts only what the caller may read: the newest record overall is this caller's own
      // authorize:audit:read (an API route, no connection), yet a page of one is not empty.
      const newest = await recordsOf(devAuditor, '?order=desc&limit=1');
      expect(newest).toEqual([
        expect.objectContaining({ action: 'session.open', target: 'connection:pg-swapped' }),
      ]);
      expect(await recordsOf(devAuditor, '?action=authorize:admin')).toEqual([]);

      const exported = await exportOf(devAuditor);
      expect(exported.length).toBeGreaterThan(0);
      expect(exported.filter((r) => !devTargets.includes(r.target ?? ''))).toEqual([]);

      // The chain check reads the whole log, so it needs unrestricted read.
      expect((await gw.request('GET', '/api/v1/audit/verify', undefined, as(devAuditor))).status).toBe(403);
    });

    it('an unrestricted auditor reads everything; its token narrowed to one connection reads that connection only', async () => {
      const auditor = await token('audit-bot');
      const all = [dev, prod, gone, reusedBefore, reusedAfter, swappedProd, swappedDev].map(
        (s) => s.sessionId,
      );
      expect(await sessionsOf(auditor)).toEqual(expect.arrayContaining(all));
      const records = await recordsOf(auditor, '?limit=1000');
      expect(records.map((r) => r.target)).toEqual(
        expect.arrayContaining(['connection:pg-prod', 'connection:pg-gone', 'POST /api/v1/policy']),
      );
      expect(records.some((r) => r.action === 'authorize:admin')).toBe(true);
      expect((await exportOf(auditor)).some((r) => r.target === 'connection:pg-prod')).toBe(true);
      const verified = await gw.request('GET', '/api/v1/audit/verify', undefined, as(auditor));
      expect(verified.status).toBe(200);
      expect(verified.body).toMatchObject({ ok: true });
      const played = await gw.request(
        'GET',
        `/api/v1/sessions/${gone.sessionId}/recording`,
        undefined,
        as(auditor),
      );
      expect(played.body).toBe(RECORDED_TEXT);

      const narrowed = await token('audit-bot', 'audit:read:pg-prod');
      expect(await sessionsOf(narrowed)).toEqual([prod.sessionId]);
      const narrowedRecords = await recordsOf(narrowed, '?limit=1000');
      expect(narrowedRecords.length).toBeGreaterThan(0);
      expect(narrowedRecords.filter((r) => r.target !== 'connection:pg-prod')).toEqual([]);
      expect((await exportOf(narrowed)).filter((r) => r.target !== 'connection:pg-prod')).toEqual([]);
      expect(
        (await gw.request('GET', `/api/v1/sessions/${dev.sessionId}`, undefined, as(narrowed))).status,
      ).toBe(404);
      expect((await gw.request('GET', '/api/v1/audit/verify', undefined, as(narrowed))).status).toBe(403);
      // Scope and role both narrow: a dev auditor's token narrowed to a prod connection reads nothing.
      expect(await sessionsOf(await token('dev-audit-bot', 'audit:read:pg-prod'))).toEqual([]);
    });
  });
});
