import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../testing/in-process-gateway';
import { ALL_SCOPES } from '../identity/tokens/scopes';
import { TokenIssuerService } from '../identity/tokens/token-issuer.service';
import { StoreService } from '../store/store.service';
import { ReviewsService } from './reviews.service';

const POLICY = `version: 1
roles:
  - name: admins
    subjects: ['group:tollgate-admins']
    connections: ['*']
    verbs: [connect, exec, admin, 'audit:read', review]
  - name: leads-review-prod
    subjects: ['user:dana@tollgate.test', 'user:lee@tollgate.test', 'user:max@tollgate.test']
    connections: ['pg-prod']
    verbs: [review]
access_requests:
  - name: prod-break-glass
    requesters: ['user:dana@tollgate.test']
    connections: ['pg-prod']
    verbs: [connect]
    reviewers: ['user:dana@tollgate.test', 'user:lee@tollgate.test']
    max_duration: 1h
  - name: prod-two-person
    requesters: ['user:kim@tollgate.test']
    connections: ['pg-prod']
    verbs: [connect]
    reviewers: ['user:dana@tollgate.test', 'user:lee@tollgate.test', 'user:max@tollgate.test']
    min_approvals: 2
    max_duration: 1h
`;

/**
 * Nobody approves their own request: a person known through two IdPs (OIDC and SAML) is two users,
 * but the same e-mail, and the policy names them by it; their second account is still them.
 */
describe('reviews: no self-approval through a second account of the same person', () => {
  let gw: TestGateway;
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  /** A user as a login through `issuer` leaves them, and a token of theirs. */
  const person = async (issuer: string, email: string): Promise<{ token: string; subject: string }> => {
    const user = await gw.gateway
      .resolve(StoreService)
      .prisma.user.create({ data: { issuer, subject: email, email, displayName: null } });
    const issued = await gw.gateway.resolve(TokenIssuerService).issue({
      subject: `user:${user.id}`,
      displayName: email,
      groups: [],
      scopes: ALL_SCOPES,
    });
    return { token: issued.accessToken, subject: `user:${user.id}` };
  };

  beforeAll(async () => {
    gw = await startTestGateway();
    expect((await gw.request('POST', '/api/v1/policy', { document: POLICY })).status).toBe(201);
    expect((await gw.request('POST', '/api/v1/agents', { name: 'edge' })).status).toBe(201);
    const created = await gw.request('POST', '/api/v1/connections', {
      name: 'pg-prod',
      protocol: 'postgres',
      target: { host: '127.0.0.1', port: 5432, database: 'app', username: 'app', tls: { mode: 'disable' } },
      credential: { password: 'env:PG_PASSWORD' },
      agents: ['edge'],
    });
    expect(created.status).toBe(201);
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it("refuses the requester's other account, and lets another reviewer decide", async () => {
    const viaOidc = await person('https://oidc.example.test', 'dana@tollgate.test');
    const viaSaml = await person('https://saml.example.test/entity', 'Dana@Tollgate.test');
    const lee = await person('https://oidc.example.test', 'lee@tollgate.test');

    const asked = await gw.request(
      'POST',
      '/api/v1/access-requests',
      { connection: 'pg-prod', verb: 'connect', duration: '30m', reason: 'incident 9' },
      as(viaOidc.token),
    );
    expect(asked.status).toBe(201);
    const id = (asked.body as { id: string }).id;

    const self = await gw.request('POST', `/api/v1/reviews/${id}/approve`, {}, as(viaSaml.token));
    expect(self.status).toBe(403);
    expect(self.contentType).toContain('application/problem+json');
    expect((self.body as { detail: string }).detail).toMatch(/nobody may review their own request/);
    const after = await gw.request('GET', `/api/v1/reviews/${id}`, undefined, as(viaOidc.token));
    expect(after.body).toMatchObject({ state: 'pending', decisions: [] });
    const denied = (await gw.request('GET', '/api/v1/audit?action=review:approve&limit=100')).body as {
      items: { subject: string; decision: string }[];
    };
    expect(denied.items.map((r) => [r.subject, r.decision])).toContainEqual([viaSaml.subject, 'deny']);

    const approved = await gw.request('POST', `/api/v1/reviews/${id}/approve`, {}, as(lee.token));
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ state: 'approved' });
  });

  it('counts one person once toward min_approvals, whichever of their accounts approves', async () => {
    const kim = await person('https://idp-a.example.test', 'kim@tollgate.test');
    const leeOidc = await person('https://idp-a.example.test', 'lee@tollgate.test');
    const leeSaml = await person('https://idp-b.example.test', 'LEE@tollgate.test');
    const dana = await person('https://idp-a.example.test', 'dana@tollgate.test');

    const asked = await gw.request(
      'POST',
      '/api/v1/access-requests',
      { connection: 'pg-prod', verb: 'connect', duration: '30m', reason: 'incident 10' },
      as(kim.token),
    );
    expect(asked.status).toBe(201);
    const id = (asked.body as { id: string }).id;

    expect((await gw.request('POST', `/api/v1/reviews/${id}/approve`, {}, as(leeOidc.token))).status).toBe(
      200,
    );
    const twice = await gw.request('POST', `/api/v1/reviews/${id}/approve`, {}, as(leeSaml.token));
    expect(twice.status).toBe(403);
    expect((twice.body as { detail: string }).detail).toMatch(/already decided.*the same person/);
    const after = await gw.request('GET', `/api/v1/reviews/${id}`, undefined, as(kim.token));
    expect(after.body).toMatchObject({ state: 'pending' });
    const mayConnect = await gw.request(
      'GET',
      '/api/v1/connections/pg-prod/access',
      undefined,
      as(kim.token),
    );
    expect(mayConnect.body).toMatchObject({ allowed: false });

    const second = await gw.request('POST', `/api/v1/reviews/${id}/approve`, {}, as(dana.token));
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ state: 'approved' });
  });

  it('does not count the approval of a reviewer disabled (or deleted) before the review is decided', async () => {
    const kim = await person('https://idp-c.example.test', 'kim@tollgate.test');
    const max = await person('https://idp-c.example.test', 'max@tollgate.test');
    const dana = await person('https://idp-c.example.test', 'dana@tollgate.test');
    const lee = await person('https://idp-c.example.test', 'lee@tollgate.test');
    const asked = await gw.request(
      'POST',
      '/api/v1/access-requests',
      { connection: 'pg-prod', verb: 'connect', duration: '30m', reason: 'incident 11' },
      as(kim.token),
    );
    expect(asked.status).toBe(201);
    const id = (asked.body as { id: string }).id;

    // max's account approves, then is found compromised and disabled.
    expect((await gw.request('POST', `/api/v1/reviews/${id}/approve`, {}, as(max.token))).status).toBe(200);
    const disabled = await gw.request('PATCH', `/api/v1/users/${max.subject.slice(5)}`, { disabled: true });
    expect(disabled.status).toBe(200);

    const second = await gw.request('POST', `/api/v1/reviews/${id}/approve`, {}, as(dana.token));
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ state: 'pending' });
    const mayConnect = await gw.request(
      'GET',
      '/api/v1/connections/pg-prod/access',
      undefined,
      as(kim.token),
    );
    expect(mayConnect.body).toMatchObject({ allowed: false });

    const third = await gw.request('POST', `/api/v1/reviews/${id}/approve`, {}, as(lee.token));
    expect(third.body).toMatchObject({ state: 'approved' });
  });

  it("refuses a reviewer whose other account acted in the held command's actor chain", async () => {
    const kim = await person('https://idp-d.example.test', 'kim@tollgate.test');
    // dana's automation (her account at one IdP) acts for kim; her account at the other reviews.
    const danaActing = await person('https://idp-d.example.test', 'dana@tollgate.test');
    const danaReviewing = await person('https://idp-e.example.test', 'dana@tollgate.test');
    const lee = await person('https://idp-d.example.test', 'lee@tollgate.test');
    const held = await gw.gateway.resolve(ReviewsService).requestCommandApproval({
      sessionId: randomUUID(),
      requester: { subject: kim.subject, actorChain: [{ subject: danaActing.subject }] },
      connection: 'pg-prod',
      command: 'DROP TABLE audit_log',
      rule: 'prod-ddl',
      approvers: ['user:dana@tollgate.test', 'user:lee@tollgate.test'],
      minApprovals: 1,
      timeoutSeconds: 600,
      policyVersion: null,
    });

    const own = await gw.request('POST', `/api/v1/reviews/${held.id}/approve`, {}, as(danaReviewing.token));
    expect(own.status).toBe(403);
    expect((own.body as { detail: string }).detail).toMatch(/nobody may review their own request/);
    const after = await gw.request('GET', `/api/v1/reviews/${held.id}`, undefined, as(lee.token));
    expect(after.body).toMatchObject({ state: 'pending', decisions: [] });

    const other = await gw.request('POST', `/api/v1/reviews/${held.id}/approve`, {}, as(lee.token));
    expect(other.body).toMatchObject({ state: 'approved' });
  });
});
