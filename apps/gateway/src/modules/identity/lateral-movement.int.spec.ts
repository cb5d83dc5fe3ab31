import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceAccountToken } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
  - name: pipeline-registers-ci
    subjects: ['sa:pipeline']
    connections: ['ci-*', 'tag:team=ci']
    verbs: [register]
`;

interface AuditItem {
  subject: string;
  action: string;
  target: string | null;
  decision: string;
}

const pg = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  protocol: 'postgres',
  target: { host: '127.0.0.1', port: 5432, database: 'app', username: 'app', tls: { mode: 'disable' } },
  credential: { password: 'env:PG_PASSWORD' },
  ...extra,
});

/**
 * Lateral movement through registration: an agent holds the credentials of every connection it
 * serves, so a registrar covering the agent's name or labels, but not all of those connections,
 * may neither borrow them for a connection of its own nor take the agent over.
 */
describe('lateral movement: registrars and agents serving other connections', () => {
  let gw: TestGateway;
  let pipeline: string;
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const call = (method: string, path: string, body?: unknown) => gw.request(method, path, body, as(pipeline));
  const detail = (response: { body: unknown }) => (response.body as { detail?: string }).detail ?? '';

  beforeAll(async () => {
    gw = await startTestGateway();
    expect((await gw.request('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    const created = await gw.request('POST', '/api/v1/service-accounts', { name: 'pipeline' });
    const secret = (created.body as { clientSecret: string }).clientSecret;
    pipeline = (await serviceAccountToken(gw.url, 'pipeline', secret)).access_token;
    // An agent whose name (or label) the pipeline's register role covers, to which the admin
    // assigned a production database: it holds pg-prod's credential on its host.
    expect((await gw.request('POST', '/api/v1/agents', { name: 'ci-shared' })).status).toBe(201);
    expect(
      (await gw.request('POST', '/api/v1/agents', { name: 'edge-labelled', labels: { team: 'ci' } })).status,
    ).toBe(201);
    expect(
      (
        await gw.request(
          'POST',
          '/api/v1/connections',
          pg('pg-prod', {
            agents: ['ci-shared', 'edge-labelled'],
            credential: { password: 'env:PG_PROD_PASSWORD' },
          }),
        )
      ).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("cannot borrow pg-prod's credential by pointing its own connection at an agent that serves pg-prod", async () => {
    for (const agent of ['ci-shared', 'edge-labelled']) {
      const response = await call(
        'POST',
        '/api/v1/connections',
        pg(`ci-borrow-${agent}`, { agents: [agent], credential: { password: 'env:PG_PROD_PASSWORD' } }),
      );
      expect({ agent, status: response.status }).toEqual({ agent, status: 403 });
      expect(response.contentType).toContain('application/problem+json');
      expect(detail(response)).toMatch(/register denied on connection "pg-prod"/);
      expect((await gw.request('GET', `/api/v1/connections/ci-borrow-${agent}`)).status).toBe(404);
    }
    // Nor by moving a connection it owns onto that agent.
    expect((await call('POST', '/api/v1/agents', { name: 'ci-own' })).status).toBe(201);
    expect((await call('POST', '/api/v1/connections', pg('ci-db', { agents: ['ci-own'] }))).status).toBe(201);
    const moved = await call('PATCH', '/api/v1/connections/ci-db', {
      agents: ['ci-shared'],
      credential: { password: 'env:PG_PROD_PASSWORD' },
    });
    expect(moved.status).toBe(403);
    expect(detail(moved)).toMatch(/connection "pg-prod"/);
    expect((await gw.request('GET', '/api/v1/connections/ci-db')).body).toMatchObject({
      agents: [{ name: 'ci-own' }],
    });

    const audit = (await gw.request('GET', '/api/v1/audit?action=authorize:register&limit=1000')).body as {
      items: AuditItem[];
    };
    expect(audit.items.map((r) => [r.subject, r.target, r.decision])).toContainEqual([
      'sa:pipeline',
      'connection:pg-prod',
      'deny',
    ]);
  });

  it('cannot take over, cut off or remove an agent that serves a connection it does not cover', async () => {
    const tokensBefore = (await gw.request('GET', '/api/v1/agents/ci-shared/tokens')).body as {
      items: { prefix: string; status: string }[];
    };
    const prefix = tokensBefore.items[0].prefix;
    const refusals: [string, string, unknown][] = [
      // A token of its own for the agent: its process would be offered pg-prod's sessions.
      ['POST', '/api/v1/agents/ci-shared/tokens', { revokeOthers: true }],
      ['POST', '/api/v1/agents/edge-labelled/tokens', {}],
      ['POST', `/api/v1/agents/ci-shared/tokens/${prefix}/revoke`, undefined],
      ['PATCH', '/api/v1/agents/ci-shared', { description: 'mine now' }],
      ['DELETE', '/api/v1/agents/ci-shared', undefined],
      ['DELETE', '/api/v1/agents/edge-labelled', undefined],
    ];
    for (const [method, path, body] of refusals) {
      const response = await call(method, path, body);
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 403 });
      expect(detail(response)).toMatch(/register denied on connection "pg-prod"/);
    }
    const tokensAfter = (await gw.request('GET', '/api/v1/agents/ci-shared/tokens')).body as {
      items: { prefix: string; status: string }[];
    };
    expect(tokensAfter.items).toEqual(tokensBefore.items);
    expect((await gw.request('GET', '/api/v1/agents/edge-labelled/tokens')).body).toMatchObject({
      items: [{ status: 'active' }],
    });
    expect((await gw.request('GET', '/api/v1/agents/ci-shared')).body).toMatchObject({ description: null });
    expect((await gw.request('GET', '/api/v1/connections/pg-prod')).body).toMatchObject({
      agents: expect.arrayContaining([
        expect.objectContaining({ name: 'ci-shared' }),
        expect.objectContaining({ name: 'edge-labelled' }),
      ]) as unknown,
    });
    // Its own agent, serving only its own connection, stays its to manage.
    expect((await call('POST', '/api/v1/agents/ci-own/tokens', {})).status).toBe(201);
  });
});
