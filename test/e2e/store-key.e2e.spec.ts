import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, spawnCli, startTunnelGateway, type CliProcess } from '@tollgate/testing';

/**
 * TOLLGATE_STORE_KEY seals the private signing keys (and IdP refresh tokens) in the store: a gateway
 * that had none seals its keys when one is set, tokens issued before keep working, and a gateway
 * with the wrong key or none refuses to start with a clear error.
 */
describe('store key: secrets sealed at rest (real gateway, PostgreSQL store)', () => {
  const processes: CliProcess[] = [];
  const cleanups: (() => unknown)[] = [];
  let databaseUrl: string;
  const storedKeys = async () => {
    const client = new Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ private_jwk: Record<string, unknown> }>(
        'SELECT private_jwk FROM signing_keys',
      );
      return rows.map((r) => r.private_jwk);
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    const db = await createTestDatabase();
    databaseUrl = db.url;
    cleanups.push(db.drop);
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('seals keys stored in plain text once a key is set; old tokens still verify; a wrong or missing key stops start-up', async () => {
    const plain = await startTunnelGateway([], { DATABASE_URL: databaseUrl });
    processes.push(plain.cli);
    const before = plain.adminToken;
    expect((await storedKeys()).every((jwk) => typeof jwk['d'] === 'string')).toBe(true);
    await plain.cli.stop('SIGTERM');

    const key = randomBytes(32).toString('base64');
    const sealed = await startTunnelGateway([], { DATABASE_URL: databaseUrl, TOLLGATE_STORE_KEY: key });
    processes.push(sealed.cli);
    const stored = await storedKeys();
    expect(stored.length).toBeGreaterThan(0);
    for (const jwk of stored) {
      expect(jwk['d']).toBeUndefined();
      expect(String(jwk['sealed'])).toMatch(/^tgs1\./);
    }
    // A token signed before the keys were sealed, and one signed after, both verify.
    const listWith = (token: string) =>
      fetch(`${sealed.httpUrl}/api/v1/agents`, { headers: { authorization: `Bearer ${token}` } });
    expect((await listWith(before)).status).toBe(200);
    expect((await listWith(sealed.adminToken)).status).toBe(200);
    await sealed.cli.stop('SIGTERM');

    const wrong = spawnCli(['gateway', '--http-port', '0', '--grpc-port', '0'], {
      DATABASE_URL: databaseUrl,
      TOLLGATE_STORE_KEY: randomBytes(32).toString('hex'),
    });
    processes.push(wrong);
    expect(await wrong.exited()).toBe(1);
    expect(wrong.output()).toMatch(/sealed with another TOLLGATE_STORE_KEY/);
    expect(wrong.output()).not.toContain(key);

    const none = spawnCli(['gateway', '--http-port', '0', '--grpc-port', '0'], { DATABASE_URL: databaseUrl });
    processes.push(none);
    expect(await none.exited()).toBe(1);
    expect(none.output()).toMatch(/set TOLLGATE_STORE_KEY to that key/);
  });
});
