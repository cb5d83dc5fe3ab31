import { describe, expect, it } from 'vitest';
import { auditModeFor } from './audit-mode';
import { formatPolicyError, parsePolicy } from './parse-policy';

const subject = { subject: 'user:ana', groups: ['dev'], actorChain: [] };
const on = (name: string, tags: Record<string, string> = {}) => ({
  subject,
  connection: { name, protocol: 'postgres' as const, tags },
});

function policy(text: string) {
  const parsed = parsePolicy(`version: 1\n${text}`, 'policy.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.map(formatPolicyError).join('\n'));
  return parsed.policy;
}

describe('audit modes', () => {
  it('is edge without rules, gateway where a rule says so', () => {
    const p = policy(`audit:
  - name: strict-prod
    match: { connections: [tag:env=prod] }
    mode: gateway
`);
    expect(auditModeFor(policy(''), on('pg-dev'))).toBe('edge');
    expect(auditModeFor(p, on('pg-dev', { env: 'dev' }))).toBe('edge');
    expect(auditModeFor(p, on('pg-prod', { env: 'prod' }))).toBe('gateway');
  });

  it('lets the stricter mode win: a broad edge rule does not weaken a narrower gateway one', () => {
    const p = policy(`audit:
  - name: everything-edge
    mode: edge
  - name: ledger-strict
    match: { connections: [pg-ledger] }
    mode: gateway
`);
    expect(auditModeFor(p, on('pg-ledger'))).toBe('gateway');
    expect(auditModeFor(p, on('pg-other'))).toBe('edge');
  });

  it('names a misspelt mode, and a duplicate rule', () => {
    const errorsOf = (text: string) => {
      const parsed = parsePolicy(`version: 1\naudit:\n${text}`, 'policy.yaml');
      return parsed.ok ? [] : parsed.errors.map(formatPolicyError);
    };
    expect(errorsOf('  - name: a\n    mode: gatewya\n')).toEqual([
      expect.stringMatching(/^policy\.yaml:4:11: audit\[0\]\.mode: expected edge .* or gateway/),
    ]);
    expect(errorsOf('  - name: a\n    mode: edge\n  - name: a\n    mode: gateway\n')).toEqual([
      expect.stringMatching(/audit\[1\]\.name: duplicate name "a"/),
    ]);
  });
});
