import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicy } from './parse-policy';
import { diffPolicies, sessionsAffected, type LiveSession } from './policy-impact';
import type { Policy } from './policy.types';

function policy(text: string): Policy {
  const result = parsePolicy(text, 'p.yaml');
  if (!result.ok) throw new Error(result.errors.map(formatPolicyError).join('\n'));
  return result.policy;
}

const BEFORE = policy(`version: 1
roles:
  - {name: dba, subjects: [group:dba], connections: [pg-*], verbs: [connect, exec]}
  - {name: analysts, subjects: [group:analysts], connections: [pg-*], verbs: [connect]}
  - {name: ops, subjects: [group:ops], connections: [host-*], verbs: [connect]}
guardrails:
  - {name: no-drop, match: {protocol: postgres}, deny: {statements: [DROP]}}
masking:
  - {name: pii, match: {connections: [pg-prod]}, detectors: [email]}
`);

const AFTER = policy(`version: 1
roles:
  - {name: dba, subjects: [group:dba], connections: [pg-*], verbs: [connect, exec], max_duration: 1h}
  - {name: analysts, subjects: [group:analysts], connections: [pg-*], verbs: [connect], read_only: true}
  - {name: sre, subjects: [group:ops], connections: [host-*], verbs: [connect]}
guardrails:
  - {name: no-drop, match: {protocol: postgres}, deny: {statements: [DROP, TRUNCATE]}}
masking:
  - {name: pii, match: {connections: [pg-prod]}, detectors: [email]}
delegation: {max_depth: 1}
`);

const session = (id: string, groups: string[], connection: string, protocol: string): LiveSession => ({
  id,
  subject: { subject: `user:${id}`, groups, actorChain: [] },
  verb: 'connect',
  connection: { name: connection, protocol, tags: {} },
  readOnly: false,
  maxDurationSeconds: 28_800,
});

describe('diffPolicies', () => {
  it('names every added, removed and changed item, and changed settings', () => {
    expect(diffPolicies(BEFORE, AFTER)).toEqual([
      { section: 'roles', name: 'ops', change: 'removed' },
      { section: 'roles', name: 'dba', change: 'changed' },
      { section: 'roles', name: 'analysts', change: 'changed' },
      { section: 'roles', name: 'sre', change: 'added' },
      { section: 'guardrails', name: 'no-drop', change: 'changed' },
      { section: 'delegation', change: 'changed' },
    ]);
  });

  it('finds nothing between a policy and itself, whatever the key order', () => {
    expect(
      diffPolicies(
        BEFORE,
        policy(`version: 1
roles:
  - {verbs: [connect, exec], connections: [pg-*], subjects: [group:dba], name: dba}
  - {name: analysts, subjects: [group:analysts], connections: [pg-*], verbs: [connect]}
  - {name: ops, subjects: [group:ops], connections: [host-*], verbs: [connect]}
guardrails:
  - {deny: {statements: [DROP]}, match: {protocol: postgres}, name: no-drop}
masking:
  - {name: pii, match: {connections: [pg-prod]}, detectors: [email]}
`),
      ),
    ).toEqual([]);
  });
});

describe('sessionsAffected', () => {
  it('reports how each live session would change, and leaves out the unaffected', () => {
    const sessions = [
      session('dba1', ['dba'], 'pg-prod', 'postgres'),
      session('ana1', ['analysts'], 'pg-staging', 'postgres'),
      session('ops1', ['ops'], 'host-1', 'ssh'),
      session('gone', ['contractors'], 'pg-prod', 'postgres'),
    ];
    expect(sessionsAffected(BEFORE, AFTER, sessions)).toEqual([
      { sessionId: 'dba1', impacts: ['shorter', 'guardrails'] },
      { sessionId: 'ana1', impacts: ['read_only', 'guardrails'] },
      { sessionId: 'gone', impacts: ['revoked'], reason: 'no role grants connect on pg-prod to user:gone' },
    ]);
  });

  it('reports masking changes for the sessions they apply to', () => {
    const after = policy(`version: 1
roles:
  - {name: dba, subjects: [group:dba], connections: [pg-*], verbs: [connect, exec]}
guardrails:
  - {name: no-drop, match: {protocol: postgres}, deny: {statements: [DROP]}}
masking:
  - {name: pii, match: {connections: [pg-prod]}, detectors: [email, phone]}
`);
    expect(
      sessionsAffected(BEFORE, after, [
        session('a', ['dba'], 'pg-prod', 'postgres'),
        session('b', ['dba'], 'pg-dev', 'postgres'),
      ]),
    ).toEqual([{ sessionId: 'a', impacts: ['masking'] }]);
  });

  it('revokes sessions whose delegation chain the new policy no longer allows', () => {
    const delegated: LiveSession = {
      ...session('d', ['dba'], 'pg-prod', 'postgres'),
      subject: { subject: 'user:d', groups: ['dba'], actorChain: [{ subject: 'sa:a' }, { subject: 'sa:b' }] },
    };
    expect(sessionsAffected(BEFORE, AFTER, [delegated])[0]).toMatchObject({
      impacts: ['revoked'],
      reason: /delegation depth 2/,
    });
  });
});
