import { describe, expect, it } from 'vitest';
import { decideCommand } from './command.engine';
import type { SqlLineageFacts, SqlStatementFacts } from './command-facts';
import { columnGlobMatches } from './lineage-denial';
import { parsePolicy } from './parse-policy';

const policy = (masking: string) => {
  const parsed = parsePolicy(`version: 1\nmasking:\n${masking}`, 'test.yaml');
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.policy;
};
const context = {
  subject: { subject: 'user:alice', groups: ['dev'], actorChain: [] },
  connection: { name: 'pg-prod', protocol: 'postgres', tags: { pii: 'true' } },
  readOnly: false,
};
const ssn = { schema: 'public', table: 'customers', column: 'ssn' };
const name = { schema: 'public', table: 'customers', column: 'name' };
const none: SqlLineageFacts = { derived: [], written: [], filtered: [] };
const decide = (masking: string, lineage: Partial<SqlLineageFacts>, type = 'SELECT') => {
  const statement: SqlStatementFacts = { type, readOnly: true, lineage: { ...none, ...lineage } };
  return decideCommand(policy(masking), context, { kind: 'sql', statements: [statement] });
};

const MASK = '  - {name: pii, columns: [customers.ssn]}\n';
const STRICT = '  - {name: pii, columns: [customers.ssn], on_derived: deny, predicates: deny}\n';

describe('masking denials by lineage', () => {
  it('denies a statement that stores a masked value, whatever on_derived says', () => {
    expect(decide(MASK, { written: [ssn] }, 'INSERT')).toEqual({
      decision: 'deny',
      rule: 'pii',
      message:
        'INSERT stores values of masked column public.customers.ssn anywhere, which masking rule "pii" does not allow (masked values may not be written)',
    });
    expect(decide(MASK, { written: [name] }, 'INSERT').decision).toBe('allow');
  });

  it('counts what could not be traced as masked, by every rule with columns', () => {
    expect(decide(MASK, { written: [{ untraced: 'function f' }] }, 'CREATE TABLE AS')).toMatchObject({
      decision: 'deny',
      message: expect.stringContaining('values whose origin cannot be traced (function f)') as string,
    });
    expect(decide('  - {name: d, detectors: [email]}\n', { written: [{ untraced: 'x' }] }).decision).toBe(
      'allow',
    );
  });

  it('denies unparsed text that may store values under column masking, even where UNPARSED is allowed', () => {
    const allowUnparsed = parsePolicy(
      `version: 1\nguardrails:\n  - {name: lax, allow: {opaque: [UNPARSED]}}\nmasking:\n${MASK}`,
      'test.yaml',
    );
    if (!allowUnparsed.ok) throw new Error(JSON.stringify(allowUnparsed.errors));
    const unparsed = (mayStore: boolean) =>
      decideCommand(allowUnparsed.policy, context, {
        kind: 'sql',
        statements: [],
        parseError: 'CREATE TABLE ... SELECT',
        ...(mayStore ? { unparsedMayStore: true as const } : {}),
      });
    expect(unparsed(true)).toEqual({
      decision: 'deny',
      rule: 'pii',
      message:
        'a statement the parser could not read (CREATE TABLE ... SELECT) may store values whose origin cannot be traced anywhere, which masking rule "pii" does not allow (masked values may not be written)',
    });
    expect(unparsed(false).decision).toBe('allow');
  });

  it('masks derived outputs by default and denies them under on_derived: deny', () => {
    expect(decide(MASK, { derived: [ssn] }).decision).toBe('allow');
    expect(decide(STRICT, { derived: [ssn] })).toMatchObject({
      decision: 'deny',
      message: expect.stringContaining('(on_derived: deny)') as string,
    });
    expect(decide(STRICT, { derived: [name] }).decision).toBe('allow');
  });

  it('allows filters on masked columns by default and denies them under predicates: deny', () => {
    expect(decide(MASK, { filtered: [ssn] }).decision).toBe('allow');
    expect(decide(STRICT, { filtered: [ssn] })).toMatchObject({
      decision: 'deny',
      message: expect.stringContaining(
        'filters, joins, groups or orders on values of masked column',
      ) as string,
    });
  });

  it('applies only the rules whose match selects the session', () => {
    const elsewhere = '  - {name: pii, match: {connections: [pg-dev]}, columns: [customers.ssn]}\n';
    expect(decide(elsewhere, { written: [ssn] }, 'INSERT').decision).toBe('allow');
  });

  it('matches column globs like the masker: two parts without schema, three with, * within a part', () => {
    expect(columnGlobMatches('customers.ssn', ssn)).toBe(true);
    expect(columnGlobMatches('CUSTOMERS.SSN', ssn)).toBe(true);
    expect(columnGlobMatches('*.ssn', ssn)).toBe(true);
    expect(columnGlobMatches('public.customers.*', ssn)).toBe(true);
    expect(columnGlobMatches('billing.customers.*', ssn)).toBe(false);
    expect(columnGlobMatches('customers.s*', name)).toBe(false);
    expect(columnGlobMatches('cust*', ssn)).toBe(false);
  });
});
