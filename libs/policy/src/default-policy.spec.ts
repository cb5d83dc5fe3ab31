import { describe, expect, it } from 'vitest';
import { evaluateAccess } from './access.engine';
import { DEFAULT_POLICY, DEFAULT_POLICY_YAML } from './default-policy';
import { parsePolicy } from './parse-policy';
import { VERBS } from './vocabulary';

describe('DEFAULT_POLICY', () => {
  const pg = { name: 'pg-prod', protocol: 'postgres', tags: { env: 'prod' } };
  const admin = { subject: 'user:1', groups: ['tollgate-admins'], actorChain: [] };
  const other = { subject: 'user:2', groups: ['dba', 'tollgate-admin'], actorChain: [] };

  it('is the parsed form of DEFAULT_POLICY_YAML', () => {
    expect(parsePolicy(DEFAULT_POLICY_YAML, 'x.yaml')).toEqual({ ok: true, policy: DEFAULT_POLICY });
  });

  it.each(VERBS)('lets tollgate-admins %s', (verb) => {
    expect(evaluateAccess(DEFAULT_POLICY, admin, verb, pg).allowed).toBe(true);
  });

  it.each(VERBS)('lets nobody else %s', (verb) => {
    expect(evaluateAccess(DEFAULT_POLICY, other, verb, pg).allowed).toBe(false);
  });

  it('keeps delegation at depth 2 and has no guardrails or masking', () => {
    expect(DEFAULT_POLICY.delegation.maxDepth).toBe(2);
    expect(DEFAULT_POLICY.guardrails).toEqual([]);
    expect(DEFAULT_POLICY.masking).toEqual([]);
  });
});
