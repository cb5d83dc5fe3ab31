import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeBrowserLogin, createTestDatabase, postTokenEndpoint } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';

describe('identity across gateway replicas (one PostgreSQL store)', () => {
  let a: TestGateway;
  let b: TestGateway;
  let dropDatabase: () => Promise<void>;

  beforeAll(async () => {
    const db = await createTestDatabase();
    dropDatabase = db.drop;
    a = await startTestGateway({
      DATABASE_URL: db.url,
      TOLLGATE_DEV_IDP: 'true',
      TOLLGATE_DEV_IDP_PORT: '0',
    });
    b = await startTestGateway({ DATABASE_URL: db.url });
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await dropDatabase?.();
  });

  it('finishes on one replica a login started on another, and each verifies the tokens of the other', async () => {
    const verifier = randomBytes(32).toString('base64url');
    const redirectUri = 'http://127.0.0.1:9/callback';
    const start = `${a.url}/auth/login?${new URLSearchParams({
      redirect_uri: redirectUri,
      state: 'xyz',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString()}`;
    const final = await completeBrowserLogin(start, 'admin', 'admin-demo', { stopAt: redirectUri });
    const code = final.searchParams.get('code')!;

    // The code is redeemed at the other replica, once.
    const form = {
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      redirect_uri: redirectUri,
    };
    const tokens = await postTokenEndpoint(b.url, form);
    expect(tokens.status).toBe(200);
    expect((await postTokenEndpoint(a.url, form)).status).toBe(400);

    const accessToken = tokens.body.access_token as string;
    for (const replica of [a, b]) {
      const agents = await replica.request('GET', '/api/v1/agents', undefined, {
        authorization: `Bearer ${accessToken}`,
      });
      expect(agents.status).toBe(200);
    }
    // A token revoked through one replica is refused by the other.
    await fetch(`${b.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: accessToken }).toString(),
    });
    const refused = await a.request('GET', '/api/v1/agents', undefined, {
      authorization: `Bearer ${accessToken}`,
    });
    expect(refused.status).toBe(401);
  });
});
