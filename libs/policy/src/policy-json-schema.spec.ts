import { describe, expect, it } from 'vitest';
import { policyJsonSchema } from './policy-json-schema';

describe('policyJsonSchema', () => {
  it('describes the document, with unknown keys forbidden as parsePolicy does', () => {
    const schema = policyJsonSchema() as {
      additionalProperties: boolean;
      required: string[];
      properties: Record<string, { items?: { properties: object; additionalProperties: boolean } }>;
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['version']);
    expect(Object.keys(schema.properties)).toEqual([
      'version',
      'metadata',
      'roles',
      'guardrails',
      'masking',
      'access_requests',
      'audit',
      'delegation',
      'sessions',
    ]);
    expect(schema.properties['roles']!.items!.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties['roles']!.items!.properties)).toContain('read_only');
  });
});
