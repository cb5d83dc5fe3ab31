import { describe, expect, it } from 'vitest';
import {
  kubernetesMaskedFields,
  kubernetesMaskingDenial,
  maskingRulesFor,
  NO_MASKING,
} from './masking-rules';
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
      kubernetes: [],
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

describe('Kubernetes masking rules', () => {
  const parsed = parsePolicy(
    `version: 1
masking:
  - name: secrets
    match: {protocol: kubernetes}
    kubernetes: {resources: [secrets], groups: ['']}
  - name: tokens
    kubernetes: {resources: ['*tokens'], fields: [token]}
  - name: pii
    match: {protocol: postgres}
    detectors: [email]
`,
    'k.yaml',
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const cluster = { name: 'k', protocol: 'kubernetes', tags: {} };

  it('are kept apart from what masks SQL results, so they add no SQL restrictions', () => {
    const masking = maskingRulesFor(parsed.policy, { subject: who([]), connection: cluster });
    expect(masking.rules).toEqual([]);
    expect(masking.kubernetes).toEqual([
      { rule: 'secrets', resources: ['secrets'], groups: [''], fields: ['data', 'stringData'] },
      { rule: 'tokens', resources: ['*tokens'], fields: ['token'] },
    ]);
    const pg = maskingRulesFor(parsed.policy, {
      subject: who([]),
      connection: { name: 'pg', protocol: 'postgres', tags: {} },
    });
    expect(pg.rules).toEqual(['pii']);
  });

  it('name the fields masked for a request by resource and group', () => {
    const masking = maskingRulesFor(parsed.policy, { subject: who([]), connection: cluster });
    expect(kubernetesMaskedFields(masking, { group: '', resource: 'secrets' })).toEqual({
      fields: ['data', 'stringData'],
      rules: ['secrets'],
    });
    expect(kubernetesMaskedFields(masking, { group: 'other.io', resource: 'secrets' })).toBeUndefined();
    expect(kubernetesMaskedFields(masking, { group: 'auth.io', resource: 'apitokens' })).toEqual({
      fields: ['token'],
      rules: ['tokens'],
    });
    expect(kubernetesMaskedFields(masking, { group: '', resource: 'pods' })).toBeUndefined();
    expect(kubernetesMaskedFields(masking, {})).toBeUndefined();
  });

  it('deny a JSON patch on a masked resource that reads a masked value, as the API server resolves its pointers', () => {
    const masking = maskingRulesFor(parsed.policy, { subject: who([]), connection: cluster });
    const patch = (reads: { op: string; pointer: string }[], extra: object = {}) =>
      kubernetesMaskingDenial(masking, {
        kind: 'kubernetes',
        verb: 'patch',
        group: '',
        resource: 'secrets',
        name: 'db',
        patchReads: reads,
        ...extra,
      });
    for (const pointer of [
      '/data/password',
      '/data',
      '/stringData',
      'x/data/password',
      '',
      'data',
      '/metadata',
      '/metadata/annotations',
      '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration',
    ]) {
      expect(patch([{ op: 'copy', pointer }]), pointer).toMatchObject({ rule: 'secrets' });
    }
    expect(patch([{ op: 'test', pointer: '/data/password' }])?.message).toBe(
      'patch secrets: a JSON patch test of "/data/password" reads masked values (data, stringData), which masking rule "secrets" does not allow (a value copied, moved or tested goes where masking does not look)',
    );
    for (const pointer of [
      '/metadata/name',
      '/metadata/labels/app',
      '/type',
      '/metadata/annotations/other',
    ]) {
      expect(patch([{ op: 'copy', pointer }]), pointer).toBeNull();
    }
    // Unread: anything; an unread request on any resource: every rule.
    expect(patch([], { patchUnread: 'a JSON patch over 1048576 bytes' })).toMatchObject({ rule: 'secrets' });
    expect(
      patch([{ op: 'move', pointer: '/token' }], { resource: undefined, group: undefined, parseError: 'x' }),
    ).toMatchObject({ rule: 'tokens' });
    // Resources no rule masks, and patches reading nothing, are left alone.
    expect(patch([{ op: 'copy', pointer: '/data' }], { resource: 'configmaps' })).toBeNull();
    expect(patch([])).toBeNull();
  });

  it('are validated: resources are required, fields are top-level names', () => {
    const bad = parsePolicy('version: 1\nmasking:\n  - kubernetes: {fields: [data.key]}\n', 'bad.yaml');
    expect(bad.ok).toBe(false);
    const errors = bad.ok ? [] : bad.errors.map((e) => `${e.path}: ${e.message}`);
    expect(errors).toEqual([
      expect.stringMatching(/^masking\[0\]\.kubernetes\.resources: /),
      expect.stringMatching(/^masking\[0\]\.kubernetes\.fields\[0\]: expected a top-level field name/),
    ]);
  });
});
