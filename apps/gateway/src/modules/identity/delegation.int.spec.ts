import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postTokenEndpoint, serviceAccountToken } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import { StoreService } from '../store/store.service';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS = 'urn:ietf:params:oauth:token-type:access_token';

interface AuditItem {
  subject: string;
  action: string;
  decision: string;
  reason: string;
  actorChain: { subject: string }[];
  target: string | null;
}

const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as {
    sub: string;
    scope: string;
    exp: number;
    depth: number;
    jti: string;
    act?: unknown;
  };

describe('delegated tokens (RFC 8693 token exchange) and API keys', () => {
  let gw: TestGateway;
  const secrets: Record<string, string> = {};
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const lastAudit = async () =>
    ((await gw.request('GET', '/api/v1/audit?limit=1000')).body as { items: AuditItem[] }).items
      .filter((r) => !(r.target === 'GET /api/v1/audit' && r.subject === 'sa:bootstrap-admin'))
      .at(-1)!;
  const exchange = (subjectToken: string, extra: Record<string, string> = {}) =>
    postTokenEndpoint(gw.url, {
      grant_type: EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS,
      ...extra,
    });
  const token = async (name: string, scope?: string) =>
    (await serviceAccountToken(gw.url, name, secrets[name], scope)).access_token;

  beforeAll(async () => {
    gw = await startTestGateway();
    for (const [name, groups] of [
      ['pipeline', ['tollgate-admins']],
      ['deploy-step', []],
    ] as const) {
      const created = await gw.request('POST', '/api/v1/service-accounts', { name, groups });
      secrets[name] = (created.body as { clientSecret: string }).clientSecret;
    }
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('issues a narrower child that names the chain in nested act claims', async () => {
    const parent = await token('pipeline');
    const child = await exchange(parent, { scope: 'connect:pg-* audit:read' });
    expect(child.status).toBe(200);
    expect(child.body).toMatchObject({
      issued_token_type: ACCESS,
      token_type: 'Bearer',
      scope: 'connect:pg-* audit:read',
    });
    const childToken = child.body.access_token as string;
    expect(claimsOf(childToken)).toMatchObject({ sub: 'sa:pipeline', depth: 1, act: { sub: 'sa:pipeline' } });
    expect(claimsOf(childToken).exp).toBeLessThanOrEqual(claimsOf(parent).exp);

    // The actor token names who acts: the grandchild's act nests the earlier actor inside.
    const actor = await token('deploy-step');
    const grandchild = await exchange(childToken, {
      scope: 'connect:pg-prod',
      actor_token: actor,
      actor_token_type: ACCESS,
    });
    expect(grandchild.status).toBe(200);
    expect(claimsOf(grandchild.body.access_token as string)).toMatchObject({
      sub: 'sa:pipeline',
      depth: 2,
      scope: 'connect:pg-prod',
      act: { sub: 'sa:deploy-step', act: { sub: 'sa:pipeline' } },
    });

    // The child may read the audit log (its scope and the subject's role allow it), but not administer.
    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(childToken))).status).toBe(
      200,
    );
    const denied = await gw.request('GET', '/api/v1/agents', undefined, bearer(childToken));
    expect(denied.status).toBe(403);
    expect((denied.body as { detail: string }).detail).toMatch(
      /scope \(connect:pg-\* audit:read\) does not include admin/,
    );
    expect(await lastAudit()).toMatchObject({
      subject: 'sa:pipeline',
      actorChain: [{ subject: 'sa:pipeline' }],
      action: 'authorize:admin',
      decision: 'deny',
    });
  });

  it('refuses an exchange that widens the scope', async () => {
    const parent = await token('pipeline', 'connect:pg-*');
    const wider = await exchange(parent, { scope: 'connect:pg-* admin' });
    expect(wider.status).toBe(400);
    expect(wider.body).toMatchObject({ error: 'invalid_scope' });
    expect(wider.body.error_description).toMatch(/widens.*admin not held/);
    const glob = await exchange(parent, { scope: 'connect:*' });
    expect(glob.status).toBe(400);
    expect(await lastAudit()).toMatchObject({
      subject: 'sa:pipeline',
      action: 'token:exchange',
      decision: 'deny',
    });
  });

  it('refuses an exchange that extends the expiry', async () => {
    const parent = await token('pipeline');
    const longer = await exchange(parent, { expires_in: String(24 * 3600) });
    expect(longer.status).toBe(400);
    expect(longer.body.error_description).toMatch(/later than the subject token's/);
    expect(await lastAudit()).toMatchObject({ action: 'token:exchange', decision: 'deny' });
    const shorter = await exchange(parent, { expires_in: '60' });
    expect(shorter.status).toBe(200);
    expect(shorter.body.expires_in).toBeLessThanOrEqual(60);
  });

  it('refuses an exchange beyond the policy maximum depth (default 2)', async () => {
    let current = await token('pipeline');
    for (let depth = 1; depth <= 2; depth++) {
      const next = await exchange(current);
      expect(next.status).toBe(200);
      current = next.body.access_token as string;
    }
    const tooDeep = await exchange(current);
    expect(tooDeep.status).toBe(400);
    expect(tooDeep.body).toMatchObject({ error: 'access_denied' });
    expect(tooDeep.body.error_description).toBe(
      "delegation depth 3 exceeds the policy's maximum (delegation.max_depth 2)",
    );
    expect(await lastAudit()).toMatchObject({ action: 'token:exchange', decision: 'deny' });
  });

  it('stops a child token (and its children) once its parent is revoked', async () => {
    const parent = await token('pipeline');
    const child = (await exchange(parent, { scope: 'audit:read' })).body.access_token as string;
    const grandchild = (await exchange(child)).body.access_token as string;
    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(grandchild))).status).toBe(
      200,
    );

    const revoke = await fetch(`${gw.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: parent }).toString(),
    });
    expect(revoke.status).toBe(200);
    for (const t of [parent, child, grandchild]) {
      const refused = await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(t));
      expect(refused.status).toBe(401);
      expect((refused.body as { detail: string }).detail).toMatch(/revoked/);
    }
    expect(await lastAudit()).toMatchObject({ action: 'authenticate', decision: 'deny' });
    expect((await exchange(child)).status).toBe(400);
  });

  it('stops a delegated token once a service account acting in its chain is disabled or deleted', async () => {
    // A compromised automation that obtained a token for someone else by exchange (its own token as
    // the actor token) is cut off from it when its account is disabled, not only from its own token.
    const created = await gw.request('POST', '/api/v1/service-accounts', { name: 'lateral', groups: [] });
    const secret = (created.body as { clientSecret: string }).clientSecret;
    const actor = (await serviceAccountToken(gw.url, 'lateral', secret)).access_token;
    const obtained = await exchange(await token('pipeline'), {
      scope: 'audit:read',
      actor_token: actor,
      actor_token_type: ACCESS,
    });
    expect(obtained.status).toBe(200);
    const delegated = obtained.body.access_token as string;
    expect(claimsOf(delegated).act).toMatchObject({ sub: 'sa:lateral' });
    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(delegated))).status).toBe(200);

    expect((await gw.request('PATCH', '/api/v1/service-accounts/lateral', { disabled: true })).status).toBe(
      200,
    );
    const refused = await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(delegated));
    expect(refused.status).toBe(401);
    expect((refused.body as { detail: string }).detail).toMatch(/actor sa:lateral: .*sa:lateral is disabled/);
    expect(await lastAudit()).toMatchObject({
      subject: 'sa:pipeline',
      actorChain: [{ subject: 'sa:lateral' }],
      action: 'authenticate',
      decision: 'deny',
    });
    // Nor can it be exchanged on (re-delegated) to launder the chain.
    expect((await exchange(delegated)).status).toBe(400);

    expect((await gw.request('DELETE', '/api/v1/service-accounts/lateral')).status).toBe(204);
    const gone = await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(delegated));
    expect(gone.status).toBe(401);
    expect((gone.body as { detail: string }).detail).toMatch(/sa:lateral no longer exists/);
  });

  it('refuses a delegated actor token, which would drop its holder from the chain', async () => {
    // deploy-step holds a token delegated from pipeline (act: deploy-step). Used as the actor token
    // it would make the new child name sa:pipeline as the actor and deploy-step would vanish.
    const held = await exchange(await token('pipeline'), {
      actor_token: await token('deploy-step'),
      actor_token_type: ACCESS,
    });
    expect(held.status).toBe(200);
    const laundered = await exchange(await token('deploy-step'), {
      actor_token: held.body.access_token as string,
      actor_token_type: ACCESS,
    });
    expect(laundered.status).toBe(400);
    expect(laundered.body).toMatchObject({ error: 'invalid_request' });
    expect(laundered.body.error_description).toMatch(/actor_token must be the actor's own token/);
    expect(await lastAudit()).toMatchObject({
      subject: 'sa:deploy-step',
      actorChain: [{ subject: 'sa:pipeline' }, { subject: 'sa:deploy-step' }],
      action: 'token:exchange',
      decision: 'deny',
    });
  });

  it('records every refused token request, with the holder and chain the subject token names', async () => {
    const parent = await token('pipeline');
    const child = (await exchange(parent, { scope: 'audit:read' })).body.access_token as string;
    for (const malformed of ['soon', '-1', '0', '1.5', '99999999999']) {
      const refused = await exchange(child, { expires_in: malformed });
      expect(refused.status).toBe(400);
      expect(refused.body.error_description).toBe('expires_in must be a positive number of seconds');
      expect(await lastAudit()).toMatchObject({
        subject: 'sa:pipeline',
        actorChain: [{ subject: 'sa:pipeline' }],
        action: 'token:exchange',
        target: `token:${claimsOf(child).jti}`,
        decision: 'deny',
        reason: 'expires_in must be a positive number of seconds',
      });
    }
    const noGrant = await postTokenEndpoint(gw.url, { scope: 'admin' });
    expect(noGrant.status).toBe(400);
    expect(await lastAudit()).toMatchObject({
      subject: 'anonymous',
      action: 'token:request',
      decision: 'deny',
      reason: 'grant_type is required',
    });
    const unknownGrant = await postTokenEndpoint(gw.url, { grant_type: 'password' });
    expect(unknownGrant.body).toMatchObject({ error: 'unsupported_grant_type' });
    expect(await lastAudit()).toMatchObject({ action: 'token:request', decision: 'deny' });
    const noSecret = await postTokenEndpoint(gw.url, {
      grant_type: 'client_credentials',
      client_id: 'pipeline',
    });
    expect(noSecret.status).toBe(400);
    expect(await lastAudit()).toMatchObject({
      subject: 'client:pipeline',
      action: 'token:client_credentials',
      reason: 'client_secret is required',
    });
  });

  it('keeps the actor chain on refused uses of a revoked token, at the API and at the token endpoint', async () => {
    const parent = await token('pipeline');
    const child = (
      await exchange(parent, {
        scope: 'audit:read',
        actor_token: await token('deploy-step'),
        actor_token_type: ACCESS,
      })
    ).body.access_token as string;
    const revoke = await fetch(`${gw.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: child }).toString(),
    });
    expect(revoke.status).toBe(200);
    const jti = claimsOf(child).jti;

    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(child))).status).toBe(401);
    const refusedUse = await lastAudit();
    expect(refusedUse).toMatchObject({
      subject: 'sa:pipeline',
      actorChain: [{ subject: 'sa:deploy-step' }],
      action: 'authenticate',
      target: `token:${jti}`,
      decision: 'deny',
    });
    expect(refusedUse.reason).toMatch(/revoked/);

    expect((await exchange(child)).status).toBe(400);
    const refusedExchange = await lastAudit();
    expect(refusedExchange).toMatchObject({
      subject: 'sa:pipeline',
      actorChain: [{ subject: 'sa:deploy-step' }],
      action: 'token:exchange',
      target: `token:${jti}`,
      decision: 'deny',
    });
    expect(refusedExchange.reason).toMatch(/^subject_token: invalid token: .*revoked/);

    // A forged token (not signed by the gateway) names nobody it claims.
    const [header, payload] = child.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(forged))).status).toBe(401);
    const record = await lastAudit();
    expect(record).toMatchObject({ subject: 'unverified:sa:pipeline', action: 'authenticate' });
    expect(record.actorChain).toEqual([]);
  });

  it('API keys: shown once, hashed, prefixed, scoped, revocable', async () => {
    const owner = await token('pipeline');
    const created = await gw.request(
      'POST',
      '/api/v1/api-keys',
      { name: 'nightly', scope: 'audit:read' },
      bearer(owner),
    );
    expect(created.status).toBe(201);
    const { key, prefix } = created.body as { key: string; prefix: string };
    expect(key).toMatch(new RegExp(`^tgk_${prefix}_`));
    const listed = (await gw.request('GET', '/api/v1/api-keys', undefined, bearer(owner))).body as {
      items: Record<string, unknown>[];
    };
    expect(listed.items.find((k) => k.prefix === prefix)).toMatchObject({
      name: 'nightly',
      subject: 'sa:pipeline',
    });
    expect(JSON.stringify(listed)).not.toContain(key);

    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(key))).status).toBe(200);
    expect((await gw.request('GET', '/api/v1/agents', undefined, bearer(key))).status).toBe(403);
    const wider = await gw.request('POST', '/api/v1/api-keys', { name: 'x', scope: 'admin' }, bearer(key));
    expect(wider.status).toBe(403);

    expect((await gw.request('DELETE', `/api/v1/api-keys/${prefix}`, undefined, bearer(owner))).status).toBe(
      204,
    );
    const refused = await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(key));
    expect(refused.status).toBe(401);
    expect((refused.body as { detail: string }).detail).toBe(
      `invalid token: API key ${prefix} has been revoked`,
    );
    expect(await lastAudit()).toMatchObject({
      subject: `apikey:${prefix}`,
      action: 'authenticate',
      decision: 'deny',
    });
  });

  it('revokes an API key presented at the RFC 7009 revocation endpoint (it does not stay live)', async () => {
    const created = await gw.request('POST', '/api/v1/api-keys', {
      name: 'leaked-credential',
      scope: 'audit:read',
      expiresInSeconds: 3600,
    });
    expect(created.status).toBe(201);
    const { key, prefix } = created.body as { key: string; prefix: string };
    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(key))).status).toBe(200);

    const revoke = await fetch(`${gw.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: key }).toString(),
    });
    expect(revoke.status).toBe(200);
    const refused = await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(key));
    expect(refused.status).toBe(401);
    expect((refused.body as { detail: string }).detail).toMatch(/revoked/);
    const listed = (await gw.request('GET', '/api/v1/api-keys')).body as {
      items: { prefix: string; revokedAt: string | null }[];
    };
    expect(listed.items.find((k) => k.prefix === prefix)?.revokedAt).not.toBeNull();
  });

  it('refuses an expired API key', async () => {
    const owner = await token('pipeline');
    const created = await gw.request(
      'POST',
      '/api/v1/api-keys',
      { name: 'short', scope: 'audit:read', expiresInDays: 1 },
      bearer(owner),
    );
    const { key, prefix, expiresAt } = created.body as { key: string; prefix: string; expiresAt: string };
    expect(new Date(expiresAt).getTime()).toBeGreaterThan(Date.now());
    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(key))).status).toBe(200);
    // A day later, as far as the store is concerned.
    await gw.gateway
      .resolve(StoreService)
      .prisma.apiKey.update({ where: { prefix }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const refused = await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer(key));
    expect(refused.status).toBe(401);
    expect((refused.body as { detail: string }).detail).toBe(`invalid token: API key ${prefix} has expired`);
    expect(await lastAudit()).toMatchObject({
      subject: `apikey:${prefix}`,
      action: 'authenticate',
      decision: 'deny',
    });
  });
});

describe('revocation reaches every token derived from a token (subject or actor, transitively)', () => {
  let gw: TestGateway;
  const secrets: Record<string, string> = {};
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const token = async (name: string, scope?: string) =>
    (await serviceAccountToken(gw.url, name, secrets[name], scope)).access_token;
  /** B = exchange(subject, actor): B acts for the subject token's holder, with `actor` as actor. */
  const exchangeWith = async (
    subjectToken: string,
    actorToken?: string,
    extra: Record<string, string> = {},
  ) => {
    const response = await postTokenEndpoint(gw.url, {
      grant_type: EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS,
      ...(actorToken ? { actor_token: actorToken, actor_token_type: ACCESS } : {}),
      ...extra,
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    return response.body.access_token as string;
  };
  const revoke = async (token: string) => {
    const response = await fetch(`${gw.url}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }).toString(),
    });
    expect(response.status).toBe(200);
  };
  /** The API answer to a token: 200 while it works, 401 with the reason once refused. */
  const use = async (token: string) => {
    const response = await gw.request('GET', '/api/v1/me', undefined, bearer(token));
    return { status: response.status, detail: (response.body as { detail?: string }).detail ?? '' };
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    for (const [name, groups] of [
      ['owner', ['tollgate-admins']],
      ['pipeline', []],
      ['deploy-step', []],
    ] as const) {
      const created = await gw.request('POST', '/api/v1/service-accounts', { name, groups });
      secrets[name] = (created.body as { clientSecret: string }).clientSecret;
    }
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('revoking the actor token A refuses B obtained with it, at the API and the token endpoint', async () => {
    const subject = await token('owner');
    const a = await token('pipeline');
    const b = await exchangeWith(subject, a);
    expect(claimsOf(b)).toMatchObject({ sub: 'sa:owner', act: { sub: 'sa:pipeline' } });
    expect((await use(b)).status).toBe(200);

    await revoke(a); // the pipeline's own token, as `tollgate logout` or a leak response would
    expect(await use(a)).toMatchObject({ status: 401, detail: 'invalid token: the token has been revoked' });
    const refused = await use(b);
    expect(refused.status).toBe(401);
    expect(refused.detail).toMatch(/derived from .*actor token.* has been revoked/);
    const exchanged = await postTokenEndpoint(gw.url, {
      grant_type: EXCHANGE,
      subject_token: b,
      subject_token_type: ACCESS,
    });
    expect(exchanged.status).toBe(400);
    expect(exchanged.body).toMatchObject({ error: 'invalid_grant' });
    // The subject token it acted for is not the actor's to revoke.
    expect((await use(subject)).status).toBe(200);
  });

  it('revoking B does not revoke A nor the subject token', async () => {
    const subject = await token('owner');
    const a = await token('pipeline');
    const b = await exchangeWith(subject, a);
    await revoke(b);
    expect(await use(b)).toMatchObject({ status: 401, detail: 'invalid token: the token has been revoked' });
    expect((await use(a)).status).toBe(200);
    expect((await use(subject)).status).toBe(200);
    // A can still obtain a fresh delegated token.
    expect((await use(await exchangeWith(subject, a))).status).toBe(200);
  });

  it('follows chains of three: revoking the first actor revokes both descendants; the last actor only its own', async () => {
    const subject = await token('owner');
    const a = await token('pipeline');
    const d = await token('deploy-step');
    const b = await exchangeWith(subject, a);
    const c = await exchangeWith(b, d);
    expect(claimsOf(c)).toMatchObject({
      depth: 2,
      act: { sub: 'sa:deploy-step', act: { sub: 'sa:pipeline' } },
    });

    // An administrator revokes the deploy step's token by jti: C goes, B and A stay.
    const byAdmin = await gw.request('POST', `/api/v1/tokens/${claimsOf(d).jti}/revoke`);
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ revoked: 2 }); // D and C
    expect((await use(c)).status).toBe(401);
    expect((await use(b)).status).toBe(200);
    expect((await use(a)).status).toBe(200);

    // A fresh chain, then the first actor's token is revoked: B and C (through B) go.
    const d2 = await token('deploy-step');
    const b2 = await exchangeWith(subject, a);
    const c2 = await exchangeWith(b2, d2);
    expect((await use(c2)).status).toBe(200);
    const byJti = await gw.request('POST', `/api/v1/tokens/${claimsOf(a).jti}/revoke`);
    expect(byJti.status).toBe(200);
    for (const t of [a, b, b2, c2]) expect((await use(t)).status).toBe(401);
    expect((await use(d2)).status).toBe(200);
    expect((await use(subject)).status).toBe(200);
  });

  it('an API key as the actor token: the delegated token ends with the key and never outlives it', async () => {
    const subject = await token('owner');
    const created = await gw.request(
      'POST',
      '/api/v1/api-keys',
      { name: 'ci-runner', scope: 'audit:read', expiresInSeconds: 600 },
      bearer(await token('pipeline')),
    );
    expect(created.status).toBe(201);
    const { key, prefix, expiresAt } = created.body as { key: string; prefix: string; expiresAt: string };
    const b = await exchangeWith(subject, key, { scope: 'audit:read' });
    expect(claimsOf(b)).toMatchObject({ act: { sub: 'sa:pipeline' } });
    expect(claimsOf(b).exp * 1000).toBeLessThanOrEqual(new Date(expiresAt).getTime());
    expect((await use(b)).status).toBe(200);

    expect(
      (await gw.request('DELETE', `/api/v1/api-keys/${prefix}`, undefined, bearer(await token('pipeline'))))
        .status,
    ).toBe(204);
    const refused = await use(b);
    expect(refused.status).toBe(401);
    expect(refused.detail).toMatch(/revoked/);
  });

  it('refuses a delegated token whose ancestry cannot be checked (fails closed)', async () => {
    const subject = await token('owner');
    const b = await exchangeWith(subject, await token('pipeline'));
    expect((await use(b)).status).toBe(200);
    // The actor's grant is gone from the store (a restore from an older backup, a hand edit).
    await gw.gateway
      .resolve(StoreService)
      .prisma.tokenGrant.update({ where: { jti: claimsOf(b).jti }, data: { actorTokenId: 'no-such-token' } });
    const refused = await use(b);
    expect(refused.status).toBe(401);
    expect(refused.detail).toMatch(/ancestry cannot be checked: token no-such-token .* is not on record/);
  });
});

describe('policy versions drive RBAC and delegation depth', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('applies a stored policy: a new role takes effect and max_depth is honoured', async () => {
    expect((await gw.request('GET', '/api/v1/policy')).body).toMatchObject({
      version: null,
      source: 'built-in',
    });
    const created = await gw.request('POST', '/api/v1/service-accounts', {
      name: 'reader',
      groups: ['readers'],
    });
    const secret = (created.body as { clientSecret: string }).clientSecret;
    const before = (await serviceAccountToken(gw.url, 'reader', secret)).access_token;
    expect(
      (await gw.request('GET', '/api/v1/audit?limit=1', undefined, { authorization: `Bearer ${before}` }))
        .status,
    ).toBe(403);

    const bad = await gw.request('POST', '/api/v1/policy', { document: 'roles: [{name: x}]' });
    expect(bad.status).toBe(400);

    const document = `version: 1
roles:
  - name: admins
    subjects: ["group:tollgate-admins"]
    connections: ["*"]
    verbs: [connect, exec, admin, "audit:read", review]
  - name: readers
    subjects: ["sa:reader"]
    connections: ["*"]
    verbs: ["audit:read"]
delegation:
  max_depth: 1
`;
    const applied = await gw.request('POST', '/api/v1/policy', {
      document,
      comment: 'readers may read audit',
    });
    expect(applied.status).toBe(201);
    expect(applied.body).toMatchObject({ version: 1, source: 'stored' });

    const bearer = { authorization: `Bearer ${before}` };
    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, bearer)).status).toBe(200);
    const child = await postTokenEndpoint(gw.url, {
      grant_type: EXCHANGE,
      subject_token: before,
      subject_token_type: ACCESS,
    });
    expect(child.status).toBe(200);
    const grandchild = await postTokenEndpoint(gw.url, {
      grant_type: EXCHANGE,
      subject_token: child.body.access_token as string,
      subject_token_type: ACCESS,
    });
    expect(grandchild.status).toBe(400);
    expect(grandchild.body.error_description).toMatch(/max_depth 1/);
  });
});
