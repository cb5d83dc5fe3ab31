import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenFailureCode } from '@tollgate/proto';
import { bootstrapAdminToken, createTestDatabase, MACHINE_POSTGRES } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import { AccessTokenVerifier } from '../identity/access-token-verifier';
import { StoreService } from '../store/store.service';
import { InProcessSessions } from './in-process-sessions';

const ADMINS = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins', 'sa:bootstrap-admin']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
`;
/** Admins keep administering, but may connect only to pg-kept. */
const NARROWER = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins', 'sa:bootstrap-admin']
    connections: ['*']
    verbs: [admin, 'audit:read', review]
  - name: kept
    subjects: ['sa:bootstrap-admin']
    connections: [pg-kept]
    verbs: [connect]
`;

/**
 * What a session open decides by (the token's grant, the subject, the connection and its agents,
 * the active policy) comes from each replica's memory, which the store's change announcements keep
 * current. No agent runs here: an open that gets as far as choosing an agent ends "no agent is
 * online" (AGENT_OFFLINE), so every earlier refusal says which fact refused it.
 */
async function openOn(gateway: TestGateway, token: string, connection: string): Promise<string> {
  let principal;
  try {
    principal = await gateway.gateway.resolve(AccessTokenVerifier).verify(token);
  } catch (error) {
    return `unauthenticated: ${(error as Error).message}`;
  }
  const opened = await gateway.gateway.resolve(InProcessSessions).open(principal, {
    connectionName: connection,
    verb: 'connect',
    clientAddr: 'session-open-facts test',
  });
  return opened.kind === 'failed' ? `${OpenFailureCode[opened.code]}: ${opened.message}` : 'opened';
}

async function revoke(gateway: TestGateway, token: string): Promise<void> {
  const response = await fetch(`${gateway.url}/oauth/revoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(response.status).toBe(200);
}

async function setUp(gateway: TestGateway): Promise<void> {
  expect((await gateway.request('POST', '/api/v1/policy', { document: ADMINS })).status).toBe(201);
  expect((await gateway.request('POST', '/api/v1/agents', { name: 'edge' })).status).toBe(201);
  for (const name of ['pg-kept', 'pg-gone']) {
    const created = await gateway.request('POST', '/api/v1/connections', {
      name,
      protocol: 'postgres',
      target: {
        host: '127.0.0.1',
        port: 5432,
        database: 'postgres',
        username: 'postgres',
        tls: { mode: 'disable' },
      },
      agents: ['edge'],
    });
    expect(created.status).toBe(201);
  }
}

const OFFLINE = /^AGENT_OFFLINE: no agent serving "pg-\w+" is online$/;

describe('session opens from memory, two replicas on one PostgreSQL store', () => {
  let a: TestGateway;
  let b: TestGateway;
  let drop: () => Promise<void>;
  let admin: Client;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    a = await startTestGateway({ DATABASE_URL: db.url });
    b = await startTestGateway({ DATABASE_URL: db.url });
    admin = new Client({ ...MACHINE_POSTGRES, database: db.name });
    await admin.connect();
    await setUp(a);
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
    await a?.stop();
    await b?.stop();
    await drop?.();
  });

  it('sees a token revoked through the other replica at the next open', async () => {
    const token = await bootstrapAdminToken(a.url);
    // Twice: the second open is answered from what the first one read.
    expect(await openOn(b, token, 'pg-kept')).toMatch(OFFLINE);
    expect(await openOn(b, token, 'pg-kept')).toMatch(OFFLINE);
    await revoke(a, token);
    expect(await openOn(b, token, 'pg-kept')).toBe(
      'unauthenticated: invalid token: the token has been revoked',
    );
  });

  it('sees a policy applied and a connection deleted through the other replica at the next open', async () => {
    const token = await bootstrapAdminToken(a.url);
    expect(await openOn(b, token, 'pg-gone')).toMatch(OFFLINE);
    expect(await openOn(b, token, 'pg-kept')).toMatch(OFFLINE);

    expect((await a.request('POST', '/api/v1/policy', { document: NARROWER })).status).toBe(201);
    expect(await openOn(b, token, 'pg-gone')).toMatch(/^DENIED: /);
    expect(await openOn(b, token, 'pg-kept')).toMatch(OFFLINE);

    expect((await a.request('DELETE', '/api/v1/connections/pg-kept')).status).toBe(204);
    expect(await openOn(b, token, 'pg-kept')).toBe('NOT_FOUND: no connection named "pg-kept"');
    expect((await a.request('POST', '/api/v1/policy', { document: ADMINS })).status).toBe(201);
  });

  it('reads the store while its notifications are lost, and keeps facts again once it listens again', async () => {
    const first = await bootstrapAdminToken(a.url);
    expect(await openOn(b, first, 'pg-gone')).toMatch(OFFLINE);
    // Both replicas lose their LISTEN connection; the revocation's announcement reaches neither.
    const cut = await admin.query<{ n: number }>(
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
        WHERE application_name = 'tollgate-changes' AND datname = current_database()`,
    );
    expect(cut.rows[0]?.n).toBe(2);
    await revoke(a, first);
    expect(await openOn(b, first, 'pg-gone')).toBe(
      'unauthenticated: invalid token: the token has been revoked',
    );

    // Back: B listens again (within its retry backoff) and keeps what it reads, still current.
    const store = b.gateway.resolve(StoreService);
    await expect.poll(() => store.changesLive, { timeout: 20_000, interval: 50 }).toBe(true);
    const second = await bootstrapAdminToken(a.url);
    expect(await openOn(b, second, 'pg-gone')).toMatch(OFFLINE);
    expect(await openOn(b, second, 'pg-gone')).toMatch(OFFLINE);
    await revoke(a, second);
    expect(await openOn(b, second, 'pg-gone')).toBe(
      'unauthenticated: invalid token: the token has been revoked',
    );
  });
});

describe('session opens from memory on the embedded store (PGlite)', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    await setUp(gw);
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  it('sees a revoked token, a narrower policy and a deleted connection at the next open', async () => {
    const token = await bootstrapAdminToken(gw.url);
    for (const connection of ['pg-gone', 'pg-kept', 'pg-gone', 'pg-kept']) {
      expect(await openOn(gw, token, connection)).toMatch(OFFLINE);
    }
    expect((await gw.request('POST', '/api/v1/policy', { document: NARROWER })).status).toBe(201);
    expect(await openOn(gw, token, 'pg-gone')).toMatch(/^DENIED: /);
    expect((await gw.request('DELETE', '/api/v1/connections/pg-kept')).status).toBe(204);
    expect(await openOn(gw, token, 'pg-kept')).toBe('NOT_FOUND: no connection named "pg-kept"');
    await revoke(gw, token);
    expect(await openOn(gw, token, 'pg-gone')).toBe(
      'unauthenticated: invalid token: the token has been revoked',
    );
  });
});
