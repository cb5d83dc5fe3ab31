import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginDevUser, postTokenEndpoint } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';

interface AuditItem {
  subject: string;
  action: string;
  decision: string;
  reason: string;
  target: string | null;
}

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
    sub: string;
    name: string;
    groups: string[];
  };

describe('OIDC login through the development IdP (real oidc-provider, real openid-client)', () => {
  let gw: TestGateway;
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const refresh = (refreshToken: string) =>
    postTokenEndpoint(gw.url, { grant_type: 'refresh_token', refresh_token: refreshToken });
  const audit = async () =>
    ((await gw.request('GET', '/api/v1/audit?limit=1000')).body as { items: AuditItem[] }).items.filter(
      // Skip the test's own (admin) reads of the audit log, themselves audited decisions.
      (r) => !(r.target === 'GET /api/v1/audit' && r.subject === 'sa:bootstrap-admin'),
    );

  beforeAll(async () => {
    gw = await startTestGateway({ TOLLGATE_DEV_IDP: 'true', TOLLGATE_DEV_IDP_PORT: '0' });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('logs the demo developer in, records the user and groups, and applies the quickstart roles', async () => {
    const tokens = await loginDevUser(gw.url, 'developer');
    expect(tokens.refresh_token).toMatch(/^tgr_/);
    const claims = claimsOf(tokens.access_token);
    expect(claims).toMatchObject({ name: 'developer@tollgate.test', groups: ['developers'] });
    expect(claims.sub).toMatch(/^user:[0-9a-f-]{36}$/);

    const users = (await gw.request('GET', '/api/v1/users')).body as {
      items: { subject: string; email: string; groups: { name: string; source: string }[] }[];
    };
    expect(users.items.find((u) => u.email === 'developer@tollgate.test')).toMatchObject({
      subject: claims.sub,
      groups: [{ name: 'developers', source: 'idp' }],
    });

    const denied = await gw.request('GET', '/api/v1/connections', undefined, bearer(tokens.access_token));
    expect(denied.status).toBe(403);
    expect((denied.body as { detail: string }).detail).toBe(
      `admin denied: no role grants admin to ${claims.sub} (groups: developers)`,
    );
    expect((await gw.request('GET', '/api/v1/audit', undefined, bearer(tokens.access_token))).status).toBe(
      403,
    );
    expect((await audit()).at(-1)).toMatchObject({
      subject: claims.sub,
      action: 'authorize:audit:read',
      decision: 'deny',
    });
  });

  it('lets the demo admin use the admin API and the auditor read the audit log only', async () => {
    const admin = await loginDevUser(gw.url, 'admin');
    expect((await gw.request('GET', '/api/v1/agents', undefined, bearer(admin.access_token))).status).toBe(
      200,
    );
    const auditor = await loginDevUser(gw.url, 'auditor');
    const read = await gw.request(
      'GET',
      '/api/v1/audit?action=login',
      undefined,
      bearer(auditor.access_token),
    );
    expect(read.status).toBe(200);
    const logins = (read.body as { items: AuditItem[] }).items;
    expect(logins.filter((r) => r.decision === 'allow').length).toBeGreaterThanOrEqual(3);
    expect((await gw.request('GET', '/api/v1/agents', undefined, bearer(auditor.access_token))).status).toBe(
      403,
    );
  });

  it('serves the console login (same-origin redirect) and refuses any other redirect target', async () => {
    const tokens = await loginDevUser(gw.url, 'auditor', 'auditor-demo', `${gw.url}/console/callback`);
    expect(claimsOf(tokens.access_token).groups).toEqual(['auditors']);
    for (const redirect of [
      'http://evil.example/cb',
      'http://evil.example/console/cb',
      'javascript:alert(1)',
    ]) {
      const start = await gw.request(
        'GET',
        `/auth/login?${new URLSearchParams({
          redirect_uri: redirect,
          state: 's',
          code_challenge: 'a'.repeat(43),
          code_challenge_method: 'S256',
        }).toString()}`,
        undefined,
        { authorization: '' },
      );
      expect(start.status).toBe(400);
      expect(start.body).toMatchObject({ errors: [{ field: 'redirect_uri' }] });
    }
  });

  it('refuses a wrong password at the IdP login form', async () => {
    await expect(loginDevUser(gw.url, 'developer', 'not-the-password')).rejects.toThrow(
      /HTTP 401.*wrong password/s,
    );
  });

  it('rotates refresh tokens and revokes the whole family when a rotated one is reused', async () => {
    const first = await loginDevUser(gw.url, 'developer');
    const second = await refresh(first.refresh_token!);
    expect(second.status).toBe(200);
    const rotated = second.body as { access_token: string; refresh_token: string };
    expect(rotated.refresh_token).not.toBe(first.refresh_token);
    expect((await gw.request('GET', '/api/v1/audit', undefined, bearer(rotated.access_token))).status).toBe(
      403,
    );

    const reuse = await refresh(first.refresh_token!);
    expect(reuse.status).toBe(400);
    expect(reuse.body).toMatchObject({ error: 'invalid_grant' });
    expect(reuse.body.error_description).toMatch(/reuse of a rotated refresh token/);
    expect((await audit()).at(-1)).toMatchObject({ action: 'token:refresh', decision: 'deny' });
    // The thief's use also killed the legitimate holder's newer refresh token and access tokens.
    const after = await refresh(rotated.refresh_token);
    expect(after.status).toBe(400);
    expect(after.body.error_description).toMatch(/revoked/);
    const cut = await gw.request('GET', '/api/v1/audit', undefined, bearer(rotated.access_token));
    expect(cut.status).toBe(401);
    expect((cut.body as { detail: string }).detail).toBe('invalid token: the token has been revoked');
  });

  it('ends a whole login when its refresh token is revoked (tollgate logout)', async () => {
    const tokens = await loginDevUser(gw.url, 'admin');
    expect((await gw.request('GET', '/api/v1/agents', undefined, bearer(tokens.access_token))).status).toBe(
      200,
    );
    const revoke = await fetch(`${gw.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.refresh_token! }).toString(),
    });
    expect(revoke.status).toBe(200);
    expect((await gw.request('GET', '/api/v1/agents', undefined, bearer(tokens.access_token))).status).toBe(
      401,
    );
    expect((await refresh(tokens.refresh_token!)).status).toBe(400);
  });

  it('drops a group removed at the IdP no later than the next refresh', async () => {
    const dba = gw.gateway.devIdp!.users.find((u) => u.username === 'dba')!;
    dba.groups = ['dba', 'tollgate-admins'];
    const tokens = await loginDevUser(gw.url, 'dba');
    expect(claimsOf(tokens.access_token).groups).toEqual(['dba', 'tollgate-admins']);
    expect((await gw.request('GET', '/api/v1/agents', undefined, bearer(tokens.access_token))).status).toBe(
      200,
    );

    dba.groups = ['dba'];
    const refreshed = await refresh(tokens.refresh_token!);
    expect(refreshed.status).toBe(200);
    const access = (refreshed.body as { access_token: string }).access_token;
    expect(claimsOf(access).groups).toEqual(['dba']);
    const denied = await gw.request('GET', '/api/v1/agents', undefined, bearer(access));
    expect(denied.status).toBe(403);
    // The membership is gone from the store too, so even the older token no longer counts it.
    expect((await gw.request('GET', '/api/v1/agents', undefined, bearer(tokens.access_token))).status).toBe(
      403,
    );
  });

  it('cuts off a user disabled in Tollgate: access token, refresh and new logins', async () => {
    const tokens = await loginDevUser(gw.url, 'auditor');
    const { sub } = claimsOf(tokens.access_token);
    expect((await gw.request('PATCH', `/api/v1/users/${sub.slice(5)}`, { disabled: true })).status).toBe(200);

    const refused = await gw.request('GET', '/api/v1/audit', undefined, bearer(tokens.access_token));
    expect(refused.status).toBe(401);
    expect((refused.body as { detail: string }).detail).toBe(`invalid token: user ${sub} is disabled`);
    const refreshed = await refresh(tokens.refresh_token!);
    expect(refreshed.status).toBe(400);
    expect(refreshed.body.error_description).toMatch(/disabled/);
    await expect(loginDevUser(gw.url, 'auditor')).rejects.toThrow(/disabled in Tollgate/);
    expect((await gw.request('PATCH', `/api/v1/users/${sub.slice(5)}`, { disabled: false })).status).toBe(
      200,
    );
  });

  it('refuses the token of a deleted user', async () => {
    const tokens = await loginDevUser(gw.url, 'admin');
    const { sub } = claimsOf(tokens.access_token);
    expect((await gw.request('DELETE', `/api/v1/users/${sub.slice(5)}`)).status).toBe(204);
    const refused = await gw.request('GET', '/api/v1/agents', undefined, bearer(tokens.access_token));
    expect(refused.status).toBe(401);
    expect((refused.body as { detail: string }).detail).toBe(`invalid token: user ${sub} no longer exists`);
    expect((await audit()).at(-1)).toMatchObject({ action: 'authenticate', decision: 'deny' });
  });
});
