import { z } from 'zod';
import { description, labelMap, resourceName } from '../shared/resource-schemas';

export const createAgentSchema = z.strictObject({
  name: resourceName,
  description: description.optional(),
  labels: labelMap.default({}),
});
export type CreateAgentInput = z.output<typeof createAgentSchema>;

export const updateAgentSchema = z.strictObject({
  name: resourceName.optional(),
  description: description.nullable().optional(),
  labels: labelMap.optional(),
});
export type UpdateAgentInput = z.output<typeof updateAgentSchema>;

export const issueAgentTokenSchema = z.strictObject({
  /** Lifetime in seconds; absent means the token lives until revoked. */
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(10 * 365 * 24 * 3600)
    .optional(),
  /** Rotation: revoke every other token of the agent (and cut the streams using them). */
  revokeOthers: z.boolean().default(false),
});
export type IssueAgentTokenInput = z.output<typeof issueAgentTokenSchema>;
