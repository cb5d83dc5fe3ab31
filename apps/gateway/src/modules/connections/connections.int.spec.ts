import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { field: string; message: string }[];
}

const pg = {
  name: 'pg-prod',
  protocol: 'postgres',
  tags: { env: 'prod', team: 'payments' },
  target: { host: 'db.internal', database: 'app', username: 'app', tls: { mode: 'verify-full' } },
  credential: { password: 'env:PG_PASSWORD' },
};

describe('connections API', () => {
  let gw: TestGateway;
  const listNames = async () =>
    ((await gw.request('GET', '/api/v1/connections')).body as { items: { name: string }[] }).items.map(
      (c) => c.name,
    );

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });
  beforeEach(async () => {
    for (const name of await listNames()) await gw.request('DELETE', `/api/v1/connections/${name}`);
    const agents = (await gw.request('GET', '/api/v1/agents')).body as { items: { name: string }[] };
    for (const agent of agents.items) await gw.request('DELETE', `/api/v1/agents/${agent.name}`);
  });

  it('creates a connection with protocol defaults and reads it back by name and id', async () => {
    await gw.request('POST', '/api/v1/agents', { name: 'edge-1' });
    const created = await gw.request('POST', '/api/v1/connections', { ...pg, agents: ['edge-1'] });
    expect(created.status).toBe(201);
    const view = created.body as { id: string; target: { port: number }; agents: { name: string }[] };
    expect(view).toMatchObject({ name: 'pg-prod', protocol: 'postgres', tags: { env: 'prod' } });
    expect(view.target.port).toBe(5432);
    expect(view.agents.map((a) => a.name)).toEqual(['edge-1']);

    const byName = await gw.request('GET', '/api/v1/connections/pg-prod');
    const byId = await gw.request('GET', `/api/v1/connections/${view.id}`);
    expect(byName.body).toEqual(view);
    expect(byId.body).toEqual(view);
  });

  it('filters the list by protocol and by tag', async () => {
    await gw.request('POST', '/api/v1/connections', pg);
    await gw.request('POST', '/api/v1/connections', {
      name: 'redis-cache',
      protocol: 'tcp',
      tags: { env: 'staging' },
      target: { host: '127.0.0.1', port: 6379 },
    });
    const byTag = (await gw.request('GET', '/api/v1/connections?tag=env=prod')).body as {
      items: { name: string }[];
    };
    expect(byTag.items.map((c) => c.name)).toEqual(['pg-prod']);
    const byProtocol = (await gw.request('GET', '/api/v1/connections?protocol=tcp')).body as {
      items: { name: string }[];
    };
    expect(byProtocol.items.map((c) => c.name)).toEqual(['redis-cache']);
    const bad = await gw.request('GET', '/api/v1/connections?protocol=ftp');
    expect(bad.status).toBe(400);
    expect((bad.body as Problem).errors?.[0]?.field).toBe('protocol');
  });

  it('refuses a duplicate name with 409 and keeps the first', async () => {
    await gw.request('POST', '/api/v1/connections', pg);
    const again = await gw.request('POST', '/api/v1/connections', {
      ...pg,
      target: { ...pg.target, host: 'other.internal' },
    });
    expect(again.status).toBe(409);
    expect(again.contentType).toContain('application/problem+json');
    expect((again.body as Problem).detail).toContain('pg-prod');
    const kept = (await gw.request('GET', '/api/v1/connections/pg-prod')).body as {
      target: { host: string };
    };
    expect(kept.target.host).toBe('db.internal');
  });

  it('answers 404 problem+json for unknown ids and names', async () => {
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { description: 'x' }],
      ['DELETE', undefined],
    ] as const) {
      const response = await gw.request(method, '/api/v1/connections/does-not-exist', body);
      expect(response.status).toBe(404);
      expect(response.contentType).toContain('application/problem+json');
      expect((response.body as Problem).detail).toBe('connection "does-not-exist" does not exist');
    }
    const byId = await gw.request('GET', '/api/v1/connections/6f1c1c1e-0000-4000-8000-000000000000');
    expect(byId.status).toBe(404);
  });

  it('rejects malformed JSON without touching the store', async () => {
    const response = await gw.request('POST', '/api/v1/connections', '{"name": "x",');
    expect(response.status).toBe(400);
    expect(response.contentType).toContain('application/problem+json');
    expect((response.body as Problem).detail).toMatch(/not valid JSON/);
    expect(await listNames()).toEqual([]);
  });

  it('names every missing field, wrong type and unknown field', async () => {
    const missing = await gw.request('POST', '/api/v1/connections', { protocol: 'postgres' });
    expect(missing.status).toBe(400);
    const missingFields = (missing.body as Problem).errors?.map((e) => e.field);
    expect(missingFields).toEqual(expect.arrayContaining(['name', 'target']));

    const wrongTypes = await gw.request('POST', '/api/v1/connections', {
      name: 'Bad Name!',
      protocol: 'tcp',
      tags: { env: 5 },
      target: { host: 'h', port: '5432' },
    });
    expect(wrongTypes.status).toBe(400);
    const fields = (wrongTypes.body as Problem).errors?.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'tags.env', 'target.port']));

    const unknown = await gw.request('POST', '/api/v1/connections', {
      ...pg,
      colour: 'blue',
      target: { ...pg.target, bogus: true },
    });
    expect(unknown.status).toBe(400);
    expect((unknown.body as Problem).errors).toEqual(
      expect.arrayContaining([
        { field: 'colour', message: 'unknown field' },
        { field: 'target.bogus', message: 'unknown field' },
      ]),
    );

    const badProtocol = await gw.request('POST', '/api/v1/connections', { ...pg, protocol: 'ftp' });
    expect((badProtocol.body as Problem).errors?.[0]).toEqual({
      field: 'protocol',
      message: 'must be one of postgres, mysql, ssh, kubernetes, http, tcp',
    });

    const rawSecret = await gw.request('POST', '/api/v1/connections', {
      ...pg,
      credential: { password: 'hunter2' },
    });
    expect((rawSecret.body as Problem).errors?.[0]?.field).toBe('credential.password');
    expect(JSON.stringify(rawSecret.body)).not.toContain('hunter2');

    for (const body of ['null', '[]', '"text"', '42']) {
      const response = await gw.request('POST', '/api/v1/connections', body);
      expect(response.status).toBe(400);
      expect(response.contentType).toContain('application/problem+json');
    }
    expect(await listNames()).toEqual([]);
  });

  it('takes an in-cluster kubernetes connection (no server: the agent uses its pod) and says what is wrong with a half one', async () => {
    const k8s = { name: 'k8s-here', protocol: 'kubernetes', agents: [] as string[] };
    const both = await gw.request('POST', '/api/v1/connections', {
      ...k8s,
      target: { server: 'https://10.0.0.1:6443', inCluster: true },
    });
    expect(both.status).toBe(400);
    expect((both.body as Problem).errors).toEqual([
      {
        field: 'target.server',
        message: 'set either server or inCluster: true (in-cluster, the agent finds the API server itself)',
      },
    ]);
    const neither = await gw.request('POST', '/api/v1/connections', { ...k8s, target: {} });
    expect((neither.body as Problem).errors).toEqual([
      {
        field: 'target.server',
        message: 'required: the API server URL, or inCluster: true for an agent that runs in the cluster',
      },
    ]);
    const created = await gw.request('POST', '/api/v1/connections', { ...k8s, target: { inCluster: true } });
    expect(created.status).toBe(201);
    expect((created.body as { target: unknown }).target).toEqual({
      inCluster: true,
      insecureSkipTlsVerify: false,
    });
    expect((await gw.request('DELETE', '/api/v1/connections/k8s-here')).status).toBe(204);
  });

  it('answers 413 for an oversized body and 415 for a non-JSON body', async () => {
    const huge = await gw.request('POST', '/api/v1/connections', {
      ...pg,
      description: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
    expect(huge.contentType).toContain('application/problem+json');
    const xml = await gw.request('POST', '/api/v1/connections', '<connection/>', {
      'content-type': 'application/xml',
    });
    expect(xml.status).toBe(415);
    expect(xml.contentType).toContain('application/problem+json');
    expect(await listNames()).toEqual([]);
  });

  it('creates nothing when one of the serving agents does not exist', async () => {
    await gw.request('POST', '/api/v1/agents', { name: 'edge-1' });
    const response = await gw.request('POST', '/api/v1/connections', { ...pg, agents: ['edge-1', 'ghost'] });
    expect(response.status).toBe(400);
    expect((response.body as Problem).errors).toEqual([
      { field: 'agents[1]', message: 'agent "ghost" does not exist' },
    ]);
    expect(await listNames()).toEqual([]);
  });

  it('updates named fields, validates the target against the protocol, and keeps state on failure', async () => {
    await gw.request('POST', '/api/v1/connections', pg);
    await gw.request('POST', '/api/v1/connections', { ...pg, name: 'pg-staging' });

    const updated = await gw.request('PATCH', '/api/v1/connections/pg-prod', {
      description: 'primary',
      target: { host: 'db2.internal', username: 'app', port: 6432 },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      description: 'primary',
      target: { host: 'db2.internal', port: 6432 },
    });

    // PATCH merges into the target (RFC 7396): the fields not named stay.
    const merged = await gw.request('PATCH', '/api/v1/connections/pg-prod', { target: { port: 7000 } });
    expect(merged.status).toBe(200);
    expect(merged.body).toMatchObject({ target: { host: 'db2.internal', username: 'app', port: 7000 } });

    // Merged, a PostgreSQL target with a url is still checked against the protocol.
    const badTarget = await gw.request('PATCH', '/api/v1/connections/pg-prod', {
      target: { url: 'http://x' },
    });
    expect(badTarget.status).toBe(400);
    expect((badTarget.body as Problem).errors?.map((e) => e.field)).toEqual(['target.url']);

    const protocolChange = await gw.request('PATCH', '/api/v1/connections/pg-prod', { protocol: 'mysql' });
    expect(protocolChange.status).toBe(400);

    const rename = await gw.request('PATCH', '/api/v1/connections/pg-prod', {
      name: 'pg-staging',
      description: 'lost?',
    });
    expect(rename.status).toBe(409);
    const after = (await gw.request('GET', '/api/v1/connections/pg-prod')).body as { description: string };
    expect(after.description).toBe('primary');
  });

  it('deletes a connection', async () => {
    await gw.request('POST', '/api/v1/connections', pg);
    expect((await gw.request('DELETE', '/api/v1/connections/pg-prod')).status).toBe(204);
    expect((await gw.request('GET', '/api/v1/connections/pg-prod')).status).toBe(404);
  });
});
