import { createPublicKey } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postTokenEndpoint, serviceAccountToken } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import { StoreService } from '../store/store.service';

interface Problem {
  status: number;
  detail: string;
  error?: string;
}

interface AuditItem {
  subject: string;
  action: string;
  decision: string;
  reason: string;
  actorChain: { subject: string }[];
  target: string | null;
}

describe('gateway tokens: issue, verify, refuse (security)', () => {
  let gw: TestGateway;
  let opsSecret: string;

  const audit = async (query = ''): Promise<AuditItem[]> =>
    ((await gw.request('GET', `/api/v1/audit?limit=1000${query}`)).body as { items: AuditItem[] }).items;
  // Reading the audit log is itself an audited decision; skip those records.
  const lastAudit = async () => (await audit()).filter((r) => r.target !== 'GET /api/v1/audit').at(-1)!;
  const asBearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** Signs a token with the gateway's own active key, so only the claim under test is wrong. */
  const forge = async (
    claims: Record<string, unknown>,
    header: Record<string, unknown> = {},
  ): Promise<string> => {
    const row = await gw.gateway
      .resolve(StoreService)
      .prisma.signingKey.findFirst({ where: { retiredAt: null }, orderBy: { createdAt: 'desc' } });
    const key = await importJWK(row!.privateJwk as JWK, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const good = await serviceAccountToken(gw.url, 'ops', opsSecret);
    const real = JSON.parse(Buffer.from(good.access_token.split('.')[1], 'base64url').toString()) as Record<
      string,
      unknown
    >;
    return new SignJWT({ ...real, iat: now, nbf: now, exp: now + 300, ...claims })
      .setProtectedHeader({ alg: 'ES256', kid: row!.kid, typ: 'at+jwt', ...header })
      .sign(key);
  };

  const expectRefused = async (token: string, reason: RegExp) => {
    const response = await gw.request('GET', '/api/v1/connections', undefined, asBearer(token));
    expect(response.status).toBe(401);
    expect(response.contentType).toContain('application/problem+json');
    expect((response.body as Problem).detail).toMatch(reason);
    const record = await lastAudit();
    expect(record).toMatchObject({ action: 'authenticate', decision: 'deny' });
    expect(record.reason).toMatch(reason);
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    const created = await gw.request('POST', '/api/v1/service-accounts', {
      name: 'ops',
      groups: ['tollgate-admins'],
    });
    expect(created.status).toBe(201);
    opsSecret = (created.body as { clientSecret: string }).clientSecret;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('publishes the signing keys as a JWKS (public, no private parts)', async () => {
    const response = await gw.request('GET', '/.well-known/jwks.json', undefined, { authorization: '' });
    expect(response.status).toBe(200);
    const { keys } = response.body as { keys: Record<string, string>[] };
    expect(keys.length).toBeGreaterThan(0);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(keys[0].d).toBeUndefined();
  });

  it('publishes RFC 8414 metadata and tells a caller who it is (GET /api/v1/me)', async () => {
    const metadata = await gw.request('GET', '/.well-known/oauth-authorization-server', undefined, {
      authorization: '',
    });
    expect(metadata.body).toMatchObject({
      issuer: 'tollgate',
      token_endpoint: `${gw.url}/oauth/token`,
      jwks_uri: `${gw.url}/.well-known/jwks.json`,
      code_challenge_methods_supported: ['S256'],
    });
    const token = (await serviceAccountToken(gw.url, 'ops', opsSecret, 'audit:read')).access_token;
    const me = await gw.request('GET', '/api/v1/me', undefined, asBearer(token));
    expect(me.body).toMatchObject({
      subject: 'sa:ops',
      displayName: 'ops',
      groups: ['tollgate-admins'],
      scopes: ['audit:read'],
      actorChain: [],
    });
    expect((await gw.request('GET', '/api/v1/me', undefined, { authorization: '' })).status).toBe(401);
  });

  it('issues a service account token by client credentials that the admin API accepts', async () => {
    const token = await serviceAccountToken(gw.url, 'ops', opsSecret);
    expect(token).toMatchObject({
      token_type: 'Bearer',
      scope: 'connect exec admin audit:read review register forward',
    });
    expect(token.expires_in).toBeGreaterThan(800);
    const payload = JSON.parse(
      Buffer.from(token.access_token.split('.')[1], 'base64url').toString(),
    ) as Record<string, unknown>;
    expect(payload).toMatchObject({
      iss: 'tollgate',
      aud: 'tollgate',
      sub: 'sa:ops',
      groups: ['tollgate-admins'],
    });
    expect(typeof payload.jti).toBe('string');
    const list = await gw.request('GET', '/api/v1/connections', undefined, asBearer(token.access_token));
    expect(list.status).toBe(200);
    expect(await lastAudit()).toMatchObject({
      subject: 'sa:ops',
      action: 'authorize:admin',
      decision: 'allow',
      reason: 'allowed by role tollgate-admins',
    });
  });

  it('refuses a wrong client secret with invalid_client and an audit record', async () => {
    const { status, body } = await postTokenEndpoint(gw.url, {
      grant_type: 'client_credentials',
      client_id: 'ops',
      client_secret: 'wrong',
    });
    expect(status).toBe(401);
    expect(body.error).toBe('invalid_client');
    expect(await lastAudit()).toMatchObject({
      subject: 'client:ops',
      action: 'token:client_credentials',
      decision: 'deny',
    });
  });

  it('refuses requests without a token, and a caller without the admin role, with an audit record', async () => {
    const anonymous = await gw.request('GET', '/api/v1/agents', undefined, { authorization: '' });
    expect(anonymous.status).toBe(401);
    expect((anonymous.body as Problem).detail).toMatch(/no bearer token/);
    expect(await lastAudit()).toMatchObject({
      subject: 'anonymous',
      action: 'authenticate',
      decision: 'deny',
    });

    const created = await gw.request('POST', '/api/v1/service-accounts', {
      name: 'reporter',
      groups: ['viewers'],
    });
    const secret = (created.body as { clientSecret: string }).clientSecret;
    const token = await serviceAccountToken(gw.url, 'reporter', secret);
    // Creating service accounts needs admin (agents and connections need only register).
    const denied = await gw.request(
      'POST',
      '/api/v1/service-accounts',
      { name: 'x', groups: ['tollgate-admins'] },
      asBearer(token.access_token),
    );
    expect(denied.status).toBe(403);
    expect((denied.body as Problem).detail).toBe(
      'admin denied: no role grants admin to sa:reporter (groups: viewers)',
    );
    expect(await lastAudit()).toMatchObject({
      subject: 'sa:reporter',
      action: 'authorize:admin',
      decision: 'deny',
      target: 'POST /api/v1/service-accounts',
    });
    const accounts = (await gw.request('GET', '/api/v1/service-accounts')).body as {
      items: { name: string }[];
    };
    expect(accounts.items.map((a) => a.name)).not.toContain('x');
  });

  it('refuses expired and not-yet-valid tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await forge({ iat: now - 600, nbf: now - 600, exp: now - 60 }), /expired/);
    await expectRefused(await forge({ nbf: now + 600, exp: now + 900 }), /not yet valid/);
  });

  it('refuses a wrong issuer or audience', async () => {
    await expectRefused(await forge({ iss: 'https://evil.example' }), /wrong issuer/);
    await expectRefused(await forge({ aud: 'someone-else' }), /wrong audience/);
  });

  it('refuses alg none and HS256 signed with the public key', async () => {
    const good = (await serviceAccountToken(gw.url, 'ops', opsSecret)).access_token;
    const [header, payload] = good.split('.');
    const kid = (JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string }).kid;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt', kid })).toString('base64url')}.${payload}.`;
    await expectRefused(none, /algorithm is not accepted/);

    const { keys } = (await gw.request('GET', '/.well-known/jwks.json')).body as { keys: JWK[] };
    const pem = createPublicKey({ key: keys.find((k) => k.kid === kid)!, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const hs = await new SignJWT(
      JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>,
    )
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid })
      .sign(new TextEncoder().encode(pem));
    await expectRefused(hs, /algorithm is not accepted/);
  });

  it('refuses a tampered payload and an unknown kid', async () => {
    const good = (await serviceAccountToken(gw.url, 'ops', opsSecret)).access_token;
    const [header, payload, signature] = good.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const tampered = Buffer.from(JSON.stringify({ ...claims, sub: 'sa:bootstrap-admin' })).toString(
      'base64url',
    );
    await expectRefused(`${header}.${tampered}.${signature}`, /signature is invalid/);

    await expectRefused(await forge({}, { kid: 'no-such-key' }), /unknown signing key/);
  });

  it('refuses a well-signed token it never issued (unknown jti)', async () => {
    await expectRefused(await forge({ jti: 'made-up' }), /unknown jti/);
  });

  it('keeps tokens signed by a rotated key valid, and signs new ones with the new key', async () => {
    const before = (await serviceAccountToken(gw.url, 'ops', opsSecret)).access_token;
    const rotated = await gw.request('POST', '/api/v1/signing-keys/rotate');
    expect(rotated.status).toBe(200);
    const newKid = (rotated.body as { kid: string }).kid;
    const after = (await serviceAccountToken(gw.url, 'ops', opsSecret)).access_token;
    const kidOf = (t: string) =>
      (JSON.parse(Buffer.from(t.split('.')[0], 'base64url').toString()) as { kid: string }).kid;
    expect(kidOf(after)).toBe(newKid);
    expect(kidOf(before)).not.toBe(newKid);
    for (const token of [before, after]) {
      expect((await gw.request('GET', '/api/v1/agents', undefined, asBearer(token))).status).toBe(200);
    }
    const { keys } = (await gw.request('GET', '/.well-known/jwks.json')).body as { keys: JWK[] };
    expect(keys.map((k) => k.kid)).toEqual(expect.arrayContaining([kidOf(before), newKid]));
  });

  it('refuses the token of a deleted or disabled service account', async () => {
    const created = await gw.request('POST', '/api/v1/service-accounts', {
      name: 'temp',
      groups: ['tollgate-admins'],
    });
    const secret = (created.body as { clientSecret: string }).clientSecret;
    const token = (await serviceAccountToken(gw.url, 'temp', secret)).access_token;
    expect((await gw.request('GET', '/api/v1/agents', undefined, asBearer(token))).status).toBe(200);
    expect((await gw.request('PATCH', '/api/v1/service-accounts/temp', { disabled: true })).status).toBe(200);
    await expectRefused(token, /sa:temp is disabled/);
    expect((await gw.request('DELETE', '/api/v1/service-accounts/temp')).status).toBe(204);
    await expectRefused(token, /sa:temp no longer exists/);
  });

  it('lets an admin revoke any token by jti, which also stops the tokens exchanged from it', async () => {
    const parent = (await serviceAccountToken(gw.url, 'ops', opsSecret)).access_token;
    const child = await postTokenEndpoint(gw.url, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: parent,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      scope: 'audit:read',
    });
    const childToken = child.body.access_token as string;
    const jti = (JSON.parse(Buffer.from(parent.split('.')[1], 'base64url').toString()) as { jti: string })
      .jti;
    const revoked = await gw.request('POST', `/api/v1/tokens/${jti}/revoke`);
    expect(revoked.body).toEqual({ jti, revoked: 2 });
    await expectRefused(childToken, /the token it was exchanged from has been revoked/);
    expect((await gw.request('POST', '/api/v1/tokens/nope/revoke')).status).toBe(404);
  });

  it('links every audit record to the previous one by hash', async () => {
    const items = (await audit()) as unknown as { seq: string; prevHash: string; hash: string }[];
    expect(items.length).toBeGreaterThan(10);
    for (let i = 1; i < items.length; i++) expect(items[i].prevHash).toBe(items[i - 1].hash);
  });
});
