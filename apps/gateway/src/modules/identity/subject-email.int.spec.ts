import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import { StoreService } from '../store/store.service';
import { ALL_SCOPES } from './tokens/scopes';
import { TokenIssuerService } from './tokens/token-issuer.service';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins', 'user:boss@tollgate.test']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
`;

interface AuditItem {
  subject: string;
  decision: string;
}

/**
 * Who the policy takes a person to be: `user:<e-mail>` bindings match the e-mail the IdP gave, never
 * a display name that looks like one.
 */
describe('privilege escalation: who the policy takes a person to be', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
    expect((await gw.request('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  /** A person as an IdP login leaves them in the store, and a token of theirs (every scope). */
  const person = async (
    subject: string,
    email: string | null,
    displayName: string | null,
  ): Promise<{ token: string; id: string }> => {
    const store = gw.gateway.resolve(StoreService);
    const user = await store.prisma.user.create({
      data: { issuer: 'https://idp.example.test', subject, email, displayName },
    });
    const issued = await gw.gateway.resolve(TokenIssuerService).issue({
      subject: `user:${user.id}`,
      displayName: email ?? displayName ?? `user:${user.id}`,
      groups: [],
      scopes: ALL_SCOPES,
    });
    return { token: issued.accessToken, id: user.id };
  };

  it("a display name that looks like someone's e-mail does not match a role naming that e-mail", async () => {
    // The IdP sent no e-mail claim; the name (which people often edit themselves) is boss's address.
    const mallory = await person('mallory', null, 'boss@tollgate.test');
    const policy = await gw.request('GET', '/api/v1/policy', undefined, {
      authorization: `Bearer ${mallory.token}`,
    });
    expect(policy.status).toBe(403);
    expect(policy.contentType).toContain('application/problem+json');
    expect((policy.body as { detail: string }).detail).toMatch(/^admin denied/);
    const users = await gw.request(
      'PATCH',
      `/api/v1/users/${mallory.id}`,
      { disabled: false },
      {
        authorization: `Bearer ${mallory.token}`,
      },
    );
    expect(users.status).toBe(403);
    const audit = (await gw.request('GET', '/api/v1/audit?action=authorize:admin&limit=1000')).body as {
      items: AuditItem[];
    };
    expect(audit.items.map((r) => [r.subject, r.decision])).toContainEqual([`user:${mallory.id}`, 'deny']);
  });

  it('the e-mail the IdP gave matches, with a login token and with an API key of that person', async () => {
    const boss = await person('boss', 'Boss@Tollgate.test', 'The Boss');
    const auth = { authorization: `Bearer ${boss.token}` };
    expect((await gw.request('GET', '/api/v1/policy', undefined, auth)).status).toBe(200);
    const key = await gw.request('POST', '/api/v1/api-keys', { name: 'ops', scope: 'admin' }, auth);
    expect(key.status).toBe(201);
    const viaKey = await gw.request('GET', '/api/v1/policy', undefined, {
      authorization: `Bearer ${(key.body as { key: string }).key}`,
    });
    expect(viaKey.status).toBe(200);
  });
});
