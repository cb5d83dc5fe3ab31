import { credentials, Metadata } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '@tollgate/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';

describe('operational endpoints', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('reports liveness and readiness', async () => {
    expect(await gw.request('GET', '/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await gw.request('GET', '/readyz')).toMatchObject({
      status: 200,
      body: { status: 'ready', store: 'pglite' },
    });
  });

  it('exposes Prometheus metrics including served requests', async () => {
    await gw.request('GET', '/api/v1/connections');
    const metrics = await gw.request('GET', '/metrics');
    expect(metrics.contentType).toContain('text/plain');
    expect(metrics.body).toMatch(
      /tollgate_http_requests_total\{method="GET",route="\/api\/v1\/connections",status="200"\} \d+/,
    );
    expect(metrics.body).toContain('tollgate_gateway_process_resident_memory_bytes');
  });

  it('publishes an OpenAPI document describing the API', async () => {
    const doc = (await gw.request('GET', '/api/v1/openapi.json')).body as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/connections',
        '/api/v1/connections/{ref}',
        '/api/v1/agents',
        '/api/v1/agents/{ref}',
      ]),
    );
    const createBody = JSON.stringify(doc.paths['/api/v1/connections']?.['post']);
    expect(createBody).toContain('"postgres"');
    expect(createBody).toContain('"target"');
  });

  it('answers the standard gRPC health check on the gRPC port', async () => {
    const client = new HealthClient(gw.gateway.grpcAddress, credentials.createInsecure());
    try {
      const check = (service: string) =>
        new Promise<{ status?: number; code?: number }>((resolve) =>
          client.check({ service }, new Metadata(), { deadline: Date.now() + 5000 }, (error, response) =>
            resolve(error ? { code: error.code } : { status: response.status }),
          ),
        );
      expect(await check('')).toEqual({ status: HealthCheckResponse_ServingStatus.SERVING });
      expect(await check('no.such.Service')).toEqual({ code: 5 }); // NOT_FOUND
    } finally {
      client.close();
    }
  });

  it('answers unknown routes with a 404 problem', async () => {
    const response = await gw.request('GET', '/api/v1/nothing-here');
    expect(response.status).toBe(404);
    expect(response.contentType).toContain('application/problem+json');
  });
});
