import { describe, expect, it } from 'vitest';
import { maskingRulesFor, NO_MASKING } from './masking-rules';
import { parsePolicy } from './parse-policy';

const result = parsePolicy(
  `version: 1
masking:
  - name: pii
    match: {connections: [tag:pii=true]}
    detectors: [email, phone]
    columns: [users.ssn]
  - name: cards
    match: {protocol: [postgres, mysql], subjects: [group:contractors]}
    detectors: [credit_card, email]
  - name: hashes
    columns: ["*.password_hash", users.ssn]
`,
  'm.yaml',
);
if (!result.ok) throw new Error('fixture policy is invalid');
const policy = result.policy;

const who = (groups: string[]) => ({ subject: 'user:1', groups, actorChain: [] });

describe('maskingRulesFor', () => {
  it('unions every matching rule, without duplicates, in document order', () => {
    const masking = maskingRulesFor(policy, {
      subject: who(['contractors']),
      connection: { name: 'pg', protocol: 'postgres', tags: { pii: 'true' } },
    });
    expect(masking).toEqual({
      detectors: [
        { kind: 'builtin', name: 'email' },
        { kind: 'builtin', name: 'phone' },
        { kind: 'builtin', name: 'credit_card' },
      ],
      columns: ['users.ssn', '*.password_hash'],
      rules: ['pii', 'cards', 'hashes'],
    });
  });

  it('applies match on connections, protocol and subjects', () => {
    expect(
      maskingRulesFor(policy, {
        subject: who([]),
        connection: { name: 'pg', protocol: 'postgres', tags: {} },
      }).rules,
    ).toEqual(['hashes']);
    expect(
      maskingRulesFor(policy, {
        subject: who(['contractors']),
        connection: { name: 's', protocol: 'ssh', tags: {} },
      }).rules,
    ).toEqual(['hashes']);
  });

  it('is empty when no rule matches', () => {
    const p = parsePolicy('version: 1\n', 'x.yaml');
    expect(
      p.ok &&
        maskingRulesFor(p.policy, {
          subject: who([]),
          connection: { name: 'a', protocol: 'http', tags: {} },
        }),
    ).toBe(NO_MASKING);
  });
});
