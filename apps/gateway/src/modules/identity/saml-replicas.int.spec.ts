import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceProviderInstance } from 'samlify';
import { createTestDatabase, makeTempDir, postTokenEndpoint } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import {
  createTestSamlIdp,
  postToAcs,
  samlUser,
  startSamlLogin,
  type TestSamlIdp,
} from '../../testing/saml-test-idp';

interface AuditItem {
  subject: string;
  action: string;
  decision: string;
  reason: string;
  payload: { check?: string; idpInitiated?: boolean } | null;
}

/**
 * Two gateway replicas on one PostgreSQL store behind one public URL (as behind a load balancer),
 * with IdP-initiated sign-in turned on: a login may finish on the other replica, and an assertion
 * used on one is refused on the other; unsolicited responses still face every other check.
 */
describe('SAML across gateway replicas (one PostgreSQL store)', () => {
  const dir = makeTempDir('tollgate-saml-replicas-');
  const publicUrl = 'https://tollgate.example';
  let idp: TestSamlIdp;
  let a: TestGateway;
  let b: TestGateway;
  let sp: ServiceProviderInstance;
  let dropDatabase: () => Promise<void>;
  const dana = samlUser('dana', ['dba']);

  const lastLogin = async () =>
    (
      (await a.request('GET', '/api/v1/audit?action=login&limit=1000')).body as { items: AuditItem[] }
    ).items.at(-1);

  beforeAll(async () => {
    const db = await createTestDatabase();
    dropDatabase = db.drop;
    idp = await createTestSamlIdp(dir.path);
    const env = {
      ...idp.env,
      DATABASE_URL: db.url,
      TOLLGATE_PUBLIC_URL: publicUrl,
      TOLLGATE_SAML_ALLOW_IDP_INITIATED: 'true',
    };
    a = await startTestGateway(env);
    b = await startTestGateway(env);
    sp = await idp.serviceProvider(a.url);
    expect(sp.entityMeta.getEntityID()).toBe(`${publicUrl}/auth/saml/metadata`);
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await dropDatabase?.();
    dir.remove();
  });

  it('finishes on one replica a SAML login started on the other, and refuses its replay on the first', async () => {
    const started = await startSamlLogin(a.url);
    const response = await idp.entity.response(sp, dana, { InResponseTo: started.requestId });
    const finished = await postToAcs(b.url, response, started.relayState);
    const code = finished.location?.searchParams.get('code');
    expect(code, finished.location?.href).toBeTruthy();
    const tokens = await postTokenEndpoint(a.url, {
      grant_type: 'authorization_code',
      code: code!,
      code_verifier: started.verifier,
      redirect_uri: started.redirectUri,
    });
    expect(tokens.status).toBe(200);

    const replayed = await postToAcs(a.url, response, started.relayState);
    expect(replayed.status).toBe(403);
    expect(replayed.body).toContain('already been used (replay)');
    expect(await lastLogin()).toMatchObject({ decision: 'deny', payload: { check: 'replay' } });
  });

  it('accepts an IdP-initiated sign-in when turned on, once, and still checks audience and recipient', async () => {
    const unsolicited = await idp.entity.response(sp, dana);
    const accepted = await postToAcs(a.url, unsolicited);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toContain('Signed in at your identity provider');
    expect(await lastLogin()).toMatchObject({ decision: 'allow', payload: { idpInitiated: true } });

    const replayed = await postToAcs(b.url, unsolicited);
    expect(replayed.status).toBe(403);
    expect(await lastLogin()).toMatchObject({ decision: 'deny', payload: { check: 'replay' } });

    const elsewhere = await postToAcs(
      b.url,
      await idp.entity.response(sp, dana, { Audience: 'https://other.example' }),
    );
    expect(elsewhere.body).toContain('not this gateway');
    expect(await lastLogin()).toMatchObject({ decision: 'deny', payload: { check: 'audience' } });

    const misdirected = await postToAcs(
      a.url,
      await idp.entity.response(sp, dana, { SubjectRecipient: 'https://other.example/acs' }),
    );
    expect(misdirected.status).toBe(403);
    expect(await lastLogin()).toMatchObject({ decision: 'deny', payload: { check: 'recipient' } });

    // A response that answers some AuthnRequest is not unsolicited: without its login it is refused.
    const orphan = await postToAcs(b.url, await idp.entity.response(sp, dana, { InResponseTo: '_not-ours' }));
    expect(orphan.status).toBe(403);
    expect(await lastLogin()).toMatchObject({ decision: 'deny', payload: { check: 'in-response-to' } });
  });
});
