import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postTokenEndpoint, serviceAccountToken } from '@tollgate/testing';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
  - name: ci-reads-audit
    subjects: ['sa:ci-bot']
    verbs: ['audit:read']
`;

interface AuditItem {
  subject: string;
  action: string;
  decision: string;
  reason: string;
}

/**
 * A service account is its name (`sa:<name>`): deleting one that leaked and creating it again (a new
 * secret, or another team reusing the name) must not bring the old one's credentials back.
 */
describe("service accounts: a deleted account's credentials stay dead when its name is reused", () => {
  let gw: TestGateway;
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  const create = async () => {
    const created = await gw.request('POST', '/api/v1/service-accounts', { name: 'ci-bot' });
    expect(created.status).toBe(201);
    return (created.body as { clientSecret: string }).clientSecret;
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    expect((await gw.request('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('refuses the old API key, access token and delegated token after the name is created again', async () => {
    const oldSecret = await create();
    const oldToken = (await serviceAccountToken(gw.url, 'ci-bot', oldSecret)).access_token;
    const key = await gw.request('POST', '/api/v1/api-keys', { name: 'forever' }, as(oldToken));
    expect(key.status).toBe(201);
    const oldKey = (key.body as { key: string }).key;
    const child = await postTokenEndpoint(gw.url, {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: oldToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    });
    expect(child.status).toBe(200);
    const oldChild = child.body.access_token as string;
    for (const credential of [oldToken, oldKey, oldChild]) {
      expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, as(credential))).status).toBe(200);
    }

    // It leaked: the admin deletes it, then creates it again with a new secret.
    expect((await gw.request('DELETE', '/api/v1/service-accounts/ci-bot')).status).toBe(204);
    const newSecret = await create();

    for (const [what, credential] of [
      ['API key', oldKey],
      ['access token', oldToken],
      ['delegated token', oldChild],
    ] as const) {
      const response = await gw.request('GET', '/api/v1/audit?limit=1', undefined, as(credential));
      expect({ what, status: response.status }).toEqual({ what, status: 401 });
      expect(response.contentType).toContain('application/problem+json');
    }
    // The new account works, and the old key is listed as revoked, not as one of its keys.
    const newToken = (await serviceAccountToken(gw.url, 'ci-bot', newSecret)).access_token;
    expect((await gw.request('GET', '/api/v1/audit?limit=1', undefined, as(newToken))).status).toBe(200);
    const keys = (await gw.request('GET', '/api/v1/api-keys', undefined, as(newToken))).body as {
      items: { revokedAt: string | null }[];
    };
    expect(keys.items.every((k) => k.revokedAt !== null)).toBe(true);

    const audit = (await gw.request('GET', '/api/v1/audit?action=authenticate&limit=100')).body as {
      items: AuditItem[];
    };
    expect(audit.items.filter((r) => r.decision === 'deny').map((r) => r.reason)).toEqual(
      expect.arrayContaining([expect.stringMatching(/API key .* has been revoked/)]) as unknown,
    );
  });
});
