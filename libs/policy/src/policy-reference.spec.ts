import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_YAML } from './default-policy';
import { formatPolicyError, parsePolicy } from './parse-policy';

// The reference's examples are policies people copy; they must stay valid.
const reference = readFileSync(join(__dirname, '../../../docs/policy.md'), 'utf8');
const examples = [...reference.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);

describe('docs/policy.md', () => {
  it('has examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
  });

  it.each(examples.map((text, i) => [i, text] as const))('example %i is a valid policy', (_i, text) => {
    const result = parsePolicy(text, 'docs/policy.md');
    expect(result.ok ? [] : result.errors.map(formatPolicyError)).toEqual([]);
  });

  it('shows the default policy as it is', () => {
    expect(examples.some((text) => DEFAULT_POLICY_YAML.endsWith(text))).toBe(true);
  });
});
