import { z } from 'zod';
import { policyDocumentSchema } from './policy.schema';

/**
 * The policy document's JSON Schema (draft 2020-12), generated from the same zod schema that
 * validates it, for editors (`# yaml-language-server: $schema=...`) and API clients. It cannot
 * express every rule (regular expressions that must compile, unique names, "at least one of"),
 * so parsePolicy stays the authority.
 */
export function policyJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(policyDocumentSchema, { io: 'input', unrepresentable: 'any' });
}
