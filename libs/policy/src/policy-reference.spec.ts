import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decideCommand } from './command.engine';
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

  it('decides the opaque-code example as the text around it says', () => {
    const text = examples.find((e) => e.includes('dba-code-on-dev'));
    const parsed = parsePolicy(text ?? '', 'docs/policy.md');
    if (!parsed.ok) throw new Error('the opaque-code example is missing or invalid');
    const doBlock = { kind: 'sql' as const, statements: [{ type: 'DO', readOnly: false, opaque: ['DO'] }] };
    const decide = (group: string, connection: string) =>
      decideCommand(
        parsed.policy,
        {
          subject: { subject: `user:${group}1`, groups: [group], actorChain: [] },
          connection: { name: connection, protocol: 'postgres', tags: {} },
          readOnly: false,
        },
        doBlock,
      );
    const denial =
      `DO is opaque code (what it runs cannot be inspected), denied by policy rule "no-drop"; ` +
      `a guardrail with allow: {opaque: ['DO']} lets it run`;
    expect(reference.replace(/\s+/g, ' ')).toContain(denial);
    expect(decide('dev', 'pg-dev')).toMatchObject({ decision: 'deny', rule: 'no-drop', message: denial });
    expect(decide('dev', 'pg-prod')).toMatchObject({ decision: 'deny', message: denial });
    expect(decide('dba', 'pg-dev').decision).toBe('allow');
    expect(decide('dba', 'pg-prod')).toMatchObject({ decision: 'deny', message: denial });
  });

  it('shows the default policy as it is', () => {
    expect(examples.some((text) => DEFAULT_POLICY_YAML.endsWith(text))).toBe(true);
  });
});
