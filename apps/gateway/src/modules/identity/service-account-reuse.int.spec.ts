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
access_requests:
  - name: ci-break-glass
    requesters: ['sa:ci-bot']
    connections: ['pg-prod']
    verbs: [connect]
    reviewers: ['group:tollgate-admins']
    max_duration: 8h
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
    expect((await gw.request('POST', '/api/v1/agents', { name: 'edge' })).status).toBe(201);
    const connection = await gw.request('POST', '/api/v1/connections', {
      name: 'pg-prod',
      protocol: 'postgres',
      target: { host: '127.0.0.1', port: 5432, database: 'app', username: 'app', tls: { mode: 'disable' } },
      credential: { password: 'env:PG_PASSWORD' },
      agents: ['edge'],
    });
    expect(connection.status).toBe(201);
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

  it("does not hand the deleted account's just-in-time access, granted or still asked for, to the name's next account", async () => {
    await gw.request('DELETE', '/api/v1/service-accounts/ci-bot'); // left by the case before
    const oldSecret = await create();
    const oldToken = (await serviceAccountToken(gw.url, 'ci-bot', oldSecret)).access_token;
    const ask = async () => {
      const asked = await gw.request(
        'POST',
        '/api/v1/access-requests',
        { connection: 'pg-prod', verb: 'connect', duration: '8h', reason: 'incident 12' },
        as(oldToken),
      );
      expect(asked.status).toBe(201);
      return (asked.body as { id: string }).id;
    };
    const granted = await ask();
    expect((await gw.request('POST', `/api/v1/reviews/${granted}/approve`, {})).status).toBe(200);
    const pending = await ask();
    const mayConnect = async (token: string) =>
      (
        (await gw.request('GET', '/api/v1/connections/pg-prod/access', undefined, as(token))).body as {
          allowed: boolean;
        }
      ).allowed;
    expect(await mayConnect(oldToken)).toBe(true);

    expect((await gw.request('DELETE', '/api/v1/service-accounts/ci-bot')).status).toBe(204);
    const newToken = (await serviceAccountToken(gw.url, 'ci-bot', await create())).access_token;

    // The grant ended with the account; the request it left can no longer be approved into one.
    expect(await mayConnect(newToken)).toBe(false);
    const left = await gw.request('GET', `/api/v1/reviews/${pending}`);
    expect((left.body as { state: string }).state).toBe('expired');
    expect((await gw.request('POST', `/api/v1/reviews/${pending}/approve`, {})).status).toBe(409);
    expect(await mayConnect(newToken)).toBe(false);
    expect((await gw.request('DELETE', '/api/v1/service-accounts/ci-bot')).status).toBe(204);
  });
});
