import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postTokenEndpoint, serviceAccountToken } from '@tollgate/testing';
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

const as = (token: string) => ({ authorization: `Bearer ${token}` });
/** A problem response's detail. */
const detail = (response: { body: unknown }) => (response.body as { detail?: string }).detail ?? '';

/** A gateway under POLICY and the `pipeline` service account's access token (its register role). */
async function gatewayWithPipeline(): Promise<{ gw: TestGateway; pipeline: string }> {
  const gw = await startTestGateway();
  expect((await gw.request('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
  const created = await gw.request('POST', '/api/v1/service-accounts', { name: 'pipeline' });
  const secret = (created.body as { clientSecret: string }).clientSecret;
  return { gw, pipeline: (await serviceAccountToken(gw.url, 'pipeline', secret)).access_token };
}

/**
 * The register verb: a pipeline's service account creates, updates and deletes only connections
 * and agents its role's patterns cover, and nothing else; admin still registers anything.
 */
describe('register: registering resources without admin', () => {
  let gw: TestGateway;
  let pipeline: string;
  const call = (method: string, path: string, body?: unknown) => gw.request(method, path, body, as(pipeline));

  beforeAll(async () => {
    ({ gw, pipeline } = await gatewayWithPipeline());
    // Resources the pipeline does not own.
    expect((await gw.request('POST', '/api/v1/agents', { name: 'edge-prod' })).status).toBe(201);
    expect(
      (await gw.request('POST', '/api/v1/connections', pg('pg-prod', { agents: ['edge-prod'] }))).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('creates, updates and deletes its own agents and connections', async () => {
    const agent = await call('POST', '/api/v1/agents', { name: 'ci-edge' });
    expect(agent.status).toBe(201);
    expect((agent.body as { token: string }).token.length).toBeGreaterThan(20);
    expect((await call('POST', '/api/v1/agents', { name: 'edge-team', labels: { team: 'ci' } })).status).toBe(
      201,
    );
    expect(
      (await call('POST', '/api/v1/connections', pg('ci-db', { agents: ['ci-edge', 'edge-team'] }))).status,
    ).toBe(201);
    expect((await call('PATCH', '/api/v1/connections/ci-db', { description: 'nightly' })).status).toBe(200);
    expect((await call('POST', '/api/v1/agents/ci-edge/tokens', {})).status).toBe(201);
    expect((await call('DELETE', '/api/v1/connections/ci-db')).status).toBe(204);

    const audit = (await gw.request('GET', '/api/v1/audit?action=authorize:register&limit=1000')).body as {
      items: AuditItem[];
    };
    expect(audit.items.map((r) => [r.subject, r.target, r.decision])).toContainEqual([
      'sa:pipeline',
      'connection:ci-db',
      'allow',
    ]);
    expect(audit.items.map((r) => r.target)).toContain('agent:edge-team');
  });

  it('touches nothing its patterns do not cover', async () => {
    const refusals: [string, string, unknown, RegExp][] = [
      ['POST', '/api/v1/connections', pg('prod-db'), /register denied on connection "prod-db"/],
      // Its own name, served by somebody else's agent (which holds other credentials).
      ['POST', '/api/v1/connections', pg('ci-sneaky', { agents: ['edge-prod'] }), /agent "edge-prod"/],
      // Taking over another connection by editing, renaming or deleting it.
      ['PATCH', '/api/v1/connections/pg-prod', { name: 'ci-prod' }, /connection "pg-prod"/],
      ['PATCH', '/api/v1/connections/pg-prod', { tags: { team: 'ci' } }, /connection "pg-prod"/],
      ['DELETE', '/api/v1/connections/pg-prod', undefined, /connection "pg-prod"/],
      ['POST', '/api/v1/agents/edge-prod/tokens', {}, /agent "edge-prod"/],
      ['DELETE', '/api/v1/agents/edge-prod', undefined, /agent "edge-prod"/],
      // Moving its own connection out of its patterns.
      ['PATCH', '/api/v1/agents/edge-team', { labels: { team: 'prod' } }, /agent "edge-team"/],
    ];
    for (const [method, path, body, reason] of refusals) {
      const response = await call(method, path, body);
      expect({ method, path, status: response.status }).toEqual({ method, path, status: 403 });
      expect(detail(response)).toMatch(reason);
    }
    // Nor anything else that needs admin: policy, service accounts, users, listing.
    for (const [method, path, body] of [
      ['POST', '/api/v1/policy', { document: POLICY }],
      ['POST', '/api/v1/service-accounts', { name: 'ci-bot' }],
      ['GET', '/api/v1/connections', undefined],
      ['POST', '/api/v1/signing-keys/rotate', undefined],
    ] as const) {
      const response = await call(method, path, body);
      expect({ path, status: response.status }).toEqual({ path, status: 403 });
      expect(detail(response)).toMatch(/^admin denied/);
    }
    const still = await gw.request('GET', '/api/v1/connections/pg-prod');
    expect(still.body).toMatchObject({ name: 'pg-prod', agents: [{ name: 'edge-prod' }] });
  });

  it('a token narrowed to register:ci-one registers ci-one only; no other name is ever registered', async () => {
    const exchanged = await postTokenEndpoint(gw.url, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: pipeline,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'register:ci-one',
    });
    expect(exchanged.status).toBe(200);
    const narrowed = exchanged.body.access_token as string;
    expect((await gw.request('POST', '/api/v1/agents', { name: 'ci-two' }, as(narrowed))).status).toBe(403);
    expect((await gw.request('POST', '/api/v1/agents', { name: 'ci-one' }, as(narrowed))).status).toBe(201);

    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[a-z0-9-]{0,12}$/), async (suffix) => {
        // Outside ci-* and without the team=ci label: refused, and nothing is created.
        const name = `x${suffix}`;
        // (403, or 400 for a name the API does not accept at all)
        expect([400, 403]).toContain((await call('POST', '/api/v1/agents', { name })).status);
        expect((await gw.request('GET', `/api/v1/agents/${name}`)).status).toBe(404);
      }),
      { numRuns: 10 },
    );
  });
});

/**
 * Lateral movement through registration: an agent holds the credentials of every connection it
 * serves, so a registrar covering the agent's name or labels, but not all of those connections,
 * may neither borrow them for a connection of its own nor take the agent over.
 */
describe('lateral movement: registrars and agents serving other connections', () => {
  let gw: TestGateway;
  let pipeline: string;
  const call = (method: string, path: string, body?: unknown) => gw.request(method, path, body, as(pipeline));

  beforeAll(async () => {
    ({ gw, pipeline } = await gatewayWithPipeline());
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
