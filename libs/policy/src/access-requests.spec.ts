import { describe, expect, it } from 'vitest';
import { evaluateAccess, type AccessGrant } from './access.engine';
import {
  accessRequestRequirement,
  accessRequestRulesFor,
  approvalsSatisfied,
  canReview,
  checkAccessRequest,
} from './access-requests';
import type { SubjectContext } from './context.types';
import { parsePolicy } from './parse-policy';
import type { Policy } from './policy.types';

const parsed = parsePolicy(
  `version: 1
access_requests:
  - name: prod-read
    requesters: [group:eng]
    connections: [tag:env=prod]
    verbs: [connect]
    reviewers: [group:dba-leads]
    max_duration: 1h
    read_only: true
  - name: prod-long
    requesters: [group:oncall]
    connections: [tag:env=prod]
    verbs: [connect, exec]
    reviewers: [group:dba-leads, user:cto@example.com]
    min_approvals: 2
    max_duration: 8h
sessions: {max_duration: 4h}
`,
  'jit.yaml',
);
if (!parsed.ok) throw new Error('fixture policy is invalid');
const policy: Policy = parsed.policy;

const who = (
  subject: string,
  groups: string[] = [],
  extra: Partial<SubjectContext> = {},
): SubjectContext => ({
  subject,
  groups,
  actorChain: [],
  ...extra,
});
const pgProd = { name: 'pg-prod', protocol: 'postgres', tags: { env: 'prod' } };
const pgDev = { name: 'pg-dev', protocol: 'postgres', tags: { env: 'dev' } };
const request = (durationSeconds: number, extra: object = {}) => ({
  verb: 'connect' as const,
  connection: pgProd,
  durationSeconds,
  reason: 'INC-42',
  ...extra,
});

describe('access requests', () => {
  it('lists the rules under which a subject may ask', () => {
    expect(
      accessRequestRulesFor(policy, who('user:1', ['eng', 'oncall']), 'connect', pgProd).map((r) => r.name),
    ).toEqual(['prod-read', 'prod-long']);
    expect(accessRequestRulesFor(policy, who('user:1', ['eng']), 'exec', pgProd)).toEqual([]);
    expect(accessRequestRulesFor(policy, who('user:1', ['eng']), 'connect', pgDev)).toEqual([]);
  });

  it.each([
    ['within a rule', who('user:1', ['eng']), request(3600), { ok: true, rule: 'prod-read' }],
    [
      'the longer rule when the first is too short',
      who('user:1', ['eng', 'oncall']),
      request(7200),
      { ok: true, rule: 'prod-long' },
    ],
    [
      'too long for every rule',
      who('user:1', ['eng']),
      request(3601),
      { ok: false, reason: /longest .* 3600 seconds/ },
    ],
    [
      'without a reason',
      who('user:1', ['eng']),
      request(60, { reason: '  ' }),
      { ok: false, reason: /needs a reason/ },
    ],
    ['a non-positive duration', who('user:1', ['eng']), request(0), { ok: false, reason: /positive/ }],
    [
      'by someone no rule names',
      who('user:2', ['sales']),
      request(60),
      { ok: false, reason: /no access_requests rule/ },
    ],
    [
      'through a delegated token',
      who('user:1', ['eng'], { actorChain: [{ subject: 'sa:bot' }] }),
      request(60),
      { ok: false, reason: /delegated/ },
    ],
  ])('checks a request %s', (_name, subject, input, expected) => {
    const result = checkAccessRequest(policy, subject, input);
    expect(result.ok).toBe(expected.ok);
    if (result.ok && 'rule' in expected) expect(result.rule.name).toBe(expected.rule);
    if (!result.ok && 'reason' in expected) expect(result.reason).toMatch(expected.reason);
  });

  describe('reviews', () => {
    const rule = accessRequestRequirement(policy.accessRequests[1]!);

    it('lets a named reviewer review, by group or by e-mail', () => {
      expect(canReview(rule, who('user:9', ['dba-leads']), 'user:1').allowed).toBe(true);
      expect(canReview(rule, who('user:8', [], { email: 'cto@example.com' }), 'user:1').allowed).toBe(true);
    });

    it('refuses the requester, strangers and delegated tokens', () => {
      expect(canReview(rule, who('user:1', ['dba-leads']), 'user:1')).toEqual({
        allowed: false,
        reason: 'nobody may review their own request',
      });
      expect(canReview(rule, who('user:7', ['eng']), 'user:1').allowed).toBe(false);
      expect(
        canReview(rule, who('user:9', ['dba-leads'], { actorChain: [{ subject: 'sa:x' }] }), 'user:1')
          .allowed,
      ).toBe(false);
    });

    it("refuses an automation that asked on the requester's behalf, even as an approver by its own token", () => {
      // sa:pipeline held a token delegated by user:1 and made the request with it; with its own
      // (undelegated) token it is a named reviewer, yet approving would be approving its own request.
      const pipeline = who('sa:pipeline', ['dba-leads']);
      expect(canReview(rule, pipeline, 'user:1', ['sa:pipeline'])).toEqual({
        allowed: false,
        reason: 'nobody may review a request they made: sa:pipeline acted in its actor chain',
      });
      expect(canReview(rule, pipeline, 'user:1', ['sa:other']).allowed).toBe(true);
      const lead = who('user:9', ['dba-leads']);
      expect(approvalsSatisfied(rule, [lead, pipeline], 'user:1', ['sa:pipeline'])).toBe(false);
    });

    it('counts distinct eligible approvals against min_approvals', () => {
      const lead = who('user:9', ['dba-leads']);
      const cto = who('user:8', [], { email: 'cto@example.com' });
      const self = who('user:1', ['dba-leads']);
      expect(approvalsSatisfied(rule, [lead], 'user:1')).toBe(false);
      expect(approvalsSatisfied(rule, [lead, lead], 'user:1')).toBe(false);
      expect(approvalsSatisfied(rule, [lead, self], 'user:1')).toBe(false);
      expect(approvalsSatisfied(rule, [lead, cto], 'user:1')).toBe(true);
    });
  });
});

describe('evaluateAccess with just-in-time grants', () => {
  const now = new Date('2026-11-25T18:00:00Z');
  const grant = (extra: Partial<AccessGrant> = {}): AccessGrant => ({
    id: 'g1',
    subject: 'user:1',
    connection: 'pg-prod',
    verbs: ['connect'],
    expiresAt: new Date('2026-11-25T18:30:00Z'),
    readOnly: true,
    ...extra,
  });
  const alice = who('user:1', ['eng']);

  it('allows what an unexpired grant covers, ending the session with the grant', () => {
    expect(evaluateAccess(policy, alice, 'connect', pgProd, { grants: [grant()], now })).toEqual({
      allowed: true,
      reason: 'allowed by access grant g1 until 2026-11-25T18:30:00.000Z',
      roles: [],
      grant: 'g1',
      session: { maxDurationSeconds: 1800, readOnly: true },
    });
  });

  it.each([
    ['expired', grant({ expiresAt: new Date('2026-11-25T17:59:59Z') }), 'connect', pgProd],
    ['for another subject', grant({ subject: 'user:2' }), 'connect', pgProd],
    ['for another connection', grant(), 'connect', pgDev],
    ['for another verb', grant(), 'exec', pgProd],
  ] as const)('ignores a grant %s', (_name, g, verb, connection) => {
    expect(evaluateAccess(policy, alice, verb, connection, { grants: [g], now }).allowed).toBe(false);
  });

  it('prefers a read-write grant, and caps a long grant at sessions.max_duration', () => {
    const long = grant({ id: 'g2', readOnly: false, expiresAt: new Date('2026-11-26T18:00:00Z') });
    expect(evaluateAccess(policy, alice, 'connect', pgProd, { grants: [grant(), long], now })).toMatchObject({
      grant: 'g2',
      session: { maxDurationSeconds: 14_400, readOnly: false },
    });
  });

  it('still caps delegation depth', () => {
    const delegated = who('user:1', ['eng'], {
      actorChain: [{ subject: 'a' }, { subject: 'b' }, { subject: 'c' }],
    });
    expect(evaluateAccess(policy, delegated, 'connect', pgProd, { grants: [grant()], now }).allowed).toBe(
      false,
    );
  });
});
