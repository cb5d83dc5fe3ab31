import { describe, expect, it } from 'vitest';
import { evaluateAccess, maxDelegationDepth, verbReach } from './access.engine';
import type { ConnectionContext, SubjectContext } from './context.types';
import { formatPolicyError, parsePolicy } from './parse-policy';
import type { Policy } from './policy.types';
import type { Verb } from './vocabulary';

function policy(text: string): Policy {
  const result = parsePolicy(text, 'test.yaml');
  if (!result.ok) throw new Error(result.errors.map(formatPolicyError).join('\n'));
  return result.policy;
}

const POLICY = policy(`version: 1
roles:
  - name: dba
    subjects: [group:dba]
    connections: [tag:env=prod, pg-*]
    verbs: [connect, exec]
    max_duration: 4h
  - name: analysts
    subjects: [group:analysts, user:carol@example.com]
    connections: [tag:env=prod*]
    verbs: [connect]
    read_only: true
    max_duration: 1h
  - name: ci
    subjects: ["sa:ci-*"]
    connections: [staging-*]
    verbs: [exec]
  - name: auditors
    subjects: [user:u-auditor]
    verbs: [audit:read]
  - name: leads
    subjects: [group:dba-leads]
    connections: [pg-*]
    verbs: [review]
  - name: everyone-dev
    subjects: ["*"]
    connections: [tag:env=dev]
    verbs: [connect]
sessions: {max_duration: 2h}
`);

const user = (
  subject: string,
  groups: string[] = [],
  extra: Partial<SubjectContext> = {},
): SubjectContext => ({
  subject,
  groups,
  actorChain: [],
  ...extra,
});
const conn = (name: string, tags: Record<string, string> = {}, protocol = 'postgres'): ConnectionContext => ({
  name,
  protocol,
  tags,
});

const pgProd = conn('pg-prod', { env: 'prod' });
const mysqlProd = conn('mysql-prod', { env: 'production' }, 'mysql');
const staging = conn('staging-db', { env: 'staging' });
const dev = conn('dev-db', { env: 'dev' });

describe('evaluateAccess', () => {
  it.each<[string, SubjectContext, Verb, ConnectionContext | undefined, boolean, string[]]>([
    ['group member on a tagged connection', user('user:1', ['dba']), 'connect', pgProd, true, ['dba']],
    ['group member by name glob', user('user:1', ['dba']), 'exec', conn('pg-other'), true, ['dba']],
    ['group member on a connection no role covers', user('user:1', ['dba']), 'connect', staging, false, []],
    ['verb the role does not grant', user('user:1', ['dba']), 'admin', undefined, false, []],
    ['tag value glob', user('user:2', ['analysts']), 'connect', mysqlProd, true, ['analysts']],
    ['read-only role does not grant exec', user('user:2', ['analysts']), 'exec', pgProd, false, []],
    [
      'user by e-mail',
      user('user:3', [], { email: 'Carol@Example.com' }),
      'connect',
      pgProd,
      true,
      ['analysts'],
    ],
    [
      'e-mail of another user',
      user('user:3', [], { email: 'mallory@example.com' }),
      'connect',
      pgProd,
      false,
      [],
    ],
    ['service account by glob', user('sa:ci-deploy'), 'exec', staging, true, ['ci']],
    ['user named like a service account', user('user:ci-deploy'), 'exec', staging, false, []],
    [
      'user by id for a connection-less verb',
      user('user:u-auditor'),
      'audit:read',
      undefined,
      true,
      ['auditors'],
    ],
    ['review scoped to connections', user('user:4', ['dba-leads']), 'review', pgProd, true, ['leads']],
    ['review outside its connections', user('user:4', ['dba-leads']), 'review', staging, false, []],
    ['review without a connection', user('user:4', ['dba-leads']), 'review', undefined, true, ['leads']],
    ['wildcard subject', user('user:anyone'), 'connect', dev, true, ['everyone-dev']],
    ['connect without a connection', user('user:1', ['dba']), 'connect', undefined, false, []],
    ['several roles', user('user:5', ['dba', 'analysts']), 'connect', pgProd, true, ['dba', 'analysts']],
    ['no groups at all', user('user:6'), 'connect', pgProd, false, []],
  ])('%s', (_name, who, verb, connection, allowed, roles) => {
    const decision = evaluateAccess(POLICY, who, verb, connection);
    expect(decision.allowed).toBe(allowed);
    expect(decision.roles).toEqual(roles);
    expect(decision.reason).toMatch(allowed ? /^allowed by role/ : /.+/);
  });

  it('explains a denial in words the caller can act on', () => {
    expect(evaluateAccess(POLICY, user('user:6'), 'connect', pgProd).reason).toBe(
      'no role grants connect on pg-prod to user:6',
    );
    expect(evaluateAccess(POLICY, user('user:6'), 'connect').reason).toBe('connect needs a connection');
  });

  it('matches group names exactly unless the policy uses a glob', () => {
    expect(evaluateAccess(POLICY, user('user:1', ['dba-team']), 'connect', pgProd).allowed).toBe(false);
    expect(evaluateAccess(POLICY, user('user:1', ['DBA']), 'connect', pgProd).allowed).toBe(false);
  });

  it('does not treat a missing tag as a match', () => {
    expect(evaluateAccess(POLICY, user('user:2', ['analysts']), 'connect', conn('x')).allowed).toBe(false);
    expect(
      evaluateAccess(POLICY, user('user:2', ['analysts']), 'connect', conn('x', { env: 'pro' })).allowed,
    ).toBe(false);
  });

  it('does not let a tag named like an Object prototype key match', () => {
    const p = policy(
      'version: 1\nroles:\n  - {name: r, subjects: ["*"], connections: ["tag:constructor=*"], verbs: [connect]}\n',
    );
    expect(evaluateAccess(p, user('user:1'), 'connect', conn('x')).allowed).toBe(false);
  });

  describe('session limits', () => {
    it('takes the longest duration of the granting roles, capped by sessions.max_duration', () => {
      expect(evaluateAccess(POLICY, user('user:1', ['dba']), 'connect', pgProd).session).toEqual({
        maxDurationSeconds: 7_200,
        readOnly: false,
      });
      expect(evaluateAccess(POLICY, user('user:2', ['analysts']), 'connect', pgProd).session).toEqual({
        maxDurationSeconds: 3_600,
        readOnly: true,
      });
    });

    it('is read-only only when every granting role is', () => {
      expect(
        evaluateAccess(POLICY, user('user:5', ['dba', 'analysts']), 'connect', pgProd).session?.readOnly,
      ).toBe(false);
    });

    it('is read-only for everyone when sessions.read_only is set', () => {
      const p = policy(
        'version: 1\nroles:\n  - {name: r, subjects: ["*"], connections: ["*"], verbs: [connect]}\nsessions: {read_only: true}\n',
      );
      expect(evaluateAccess(p, user('user:1'), 'connect', pgProd).session).toEqual({
        maxDurationSeconds: 28_800,
        readOnly: true,
      });
    });

    it('has no limits on a denial', () => {
      expect(evaluateAccess(POLICY, user('user:6'), 'connect', pgProd).session).toBeUndefined();
    });
  });

  describe('delegation', () => {
    const chain = (n: number) => Array.from({ length: n }, (_, i) => ({ subject: `sa:agent-${i}` }));

    it('defaults to a maximum depth of 2', () => {
      expect(maxDelegationDepth(POLICY)).toBe(2);
    });

    it('allows a chain up to the maximum depth', () => {
      const who = user('user:1', ['dba'], { actorChain: chain(2) });
      expect(evaluateAccess(POLICY, who, 'connect', pgProd).allowed).toBe(true);
    });

    it('denies a chain deeper than the maximum, whatever the roles say', () => {
      const who = user('user:1', ['dba'], { actorChain: chain(3) });
      expect(evaluateAccess(POLICY, who, 'connect', pgProd)).toEqual({
        allowed: false,
        reason: "delegation depth 3 exceeds the policy's maximum of 2",
        roles: [],
      });
    });

    it('denies every delegation when max_depth is 0', () => {
      const p = policy(
        'version: 1\nroles:\n  - {name: r, subjects: ["*"], connections: ["*"], verbs: [connect]}\ndelegation: {max_depth: 0}\n',
      );
      expect(maxDelegationDepth(p)).toBe(0);
      expect(evaluateAccess(p, user('user:1'), 'connect', pgProd).allowed).toBe(true);
      expect(evaluateAccess(p, user('user:1', [], { actorChain: chain(1) }), 'connect', pgProd).allowed).toBe(
        false,
      );
    });
  });

  it('tells where a verb reaches: everywhere without connections or with *, else the granting selectors', () => {
    const reach = policy(`version: 1
roles:
  - name: all-audit
    subjects: [group:auditors]
    verbs: [audit:read]
  - name: dev-audit
    subjects: [group:dev-auditors, group:leads]
    connections: [tag:env=dev, pg-dev-*]
    verbs: [audit:read]
  - name: star-audit
    subjects: [group:leads]
    connections: ['*']
    verbs: [connect, audit:read]
  - name: other-verb
    subjects: [group:dev-auditors]
    connections: [pg-prod]
    verbs: [connect]
delegation: {max_depth: 1}
`);
    expect(verbReach(reach, user('u1', ['auditors']), 'audit:read')).toMatchObject({ everywhere: true });
    expect(verbReach(reach, user('u2', ['dev-auditors']), 'audit:read')).toEqual({
      everywhere: false,
      selectors: ['tag:env=dev', 'pg-dev-*'],
    });
    expect(verbReach(reach, user('u3', ['leads']), 'audit:read')).toMatchObject({ everywhere: true });
    expect(verbReach(reach, user('u4', ['nobody']), 'audit:read')).toBeNull();
    const deep = user('u1', ['auditors'], { actorChain: [{ subject: 'a' }, { subject: 'b' }] });
    expect(verbReach(reach, deep, 'audit:read')).toBeNull();
  });
});
