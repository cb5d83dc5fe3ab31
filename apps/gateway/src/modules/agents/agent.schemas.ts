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
