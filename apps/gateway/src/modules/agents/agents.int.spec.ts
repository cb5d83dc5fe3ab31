import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';

describe('agents API', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('registers, lists, updates and deletes agents; a deleted agent leaves its connections', async () => {
    const created = await gw.request('POST', '/api/v1/agents', { name: 'edge-1', labels: { zone: 'eu-1' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'edge-1',
      status: 'offline',
      lastSeenAt: null,
      labels: { zone: 'eu-1' },
    });

    await gw.request('POST', '/api/v1/connections', {
      name: 'cache',
      protocol: 'tcp',
      target: { host: '127.0.0.1', port: 6379 },
      agents: ['edge-1'],
    });
    const withConnection = (await gw.request('GET', '/api/v1/agents/edge-1')).body as {
      connections: { name: string }[];
    };
    expect(withConnection.connections.map((c) => c.name)).toEqual(['cache']);

    const duplicate = await gw.request('POST', '/api/v1/agents', { name: 'edge-1' });
    expect(duplicate.status).toBe(409);

    const renamed = await gw.request('PATCH', '/api/v1/agents/edge-1', {
      name: 'edge-eu-1',
      description: 'Frankfurt',
    });
    expect(renamed.body).toMatchObject({ name: 'edge-eu-1', description: 'Frankfurt' });
    expect((await gw.request('GET', '/api/v1/agents/edge-1')).status).toBe(404);

    const invalid = await gw.request('PATCH', '/api/v1/agents/edge-eu-1', {
      labels: { 'bad key!': 'x' },
      token: 'y',
    });
    expect(invalid.status).toBe(400);
    expect((invalid.body as { errors: { field: string }[] }).errors.map((e) => e.field)).toEqual(
      expect.arrayContaining(['token', 'labels.bad key!']),
    );

    expect((await gw.request('DELETE', '/api/v1/agents/edge-eu-1')).status).toBe(204);
    const connection = (await gw.request('GET', '/api/v1/connections/cache')).body as { agents: unknown[] };
    expect(connection.agents).toEqual([]);
    const list = (await gw.request('GET', '/api/v1/agents')).body as { items: unknown[] };
    expect(list.items).toEqual([]);
  });
});
