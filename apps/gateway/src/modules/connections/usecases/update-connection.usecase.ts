import { Injectable } from '@nestjs/common';
import type { z } from 'zod';
import type { Prisma } from '@tollgate/store';
import { ConflictError, ValidationError } from '../../../common/errors';
import { isUniqueViolation } from '../../store/prisma-errors';
import { StoreService } from '../../store/store.service';
import { AgentRegistry } from '../../tunnel/agent-registry';
import { toFieldProblems } from '../../../common/validation/validator';
import { applyMergePatch } from '../../../common/json-merge-patch';
import {
  mergedCredentialSchema,
  mergedTagsSchema,
  validateTarget,
  type UpdateConnectionInput,
} from '../connection.schemas';
import { connectionInclude, presentConnection, type ConnectionView } from '../connection.presenter';
import { findConnectionOrThrow } from './find-connection';
import { resolveAgentNames } from './resolve-agent-names';

@Injectable()
export class UpdateConnectionUseCase {
  constructor(
    private readonly store: StoreService,
    private readonly agents: AgentRegistry,
  ) {}

  async execute(ref: string, input: UpdateConnectionInput): Promise<ConnectionView> {
    try {
      const row = await this.store.prisma.$transaction(async (tx) => {
        const existing = await findConnectionOrThrow(tx, ref);
        const data: Prisma.ConnectionUpdateInput = {};
        if (input.name !== undefined && input.name !== existing.name) {
          data.name = input.name;
          // Records written under the new name before now are another connection's (audit:read).
          data.namedAt = new Date();
        }
        if (input.description !== undefined) data.description = input.description;
        // A merge patch: keys not named stay as they are, keys set to null go.
        if (input.tags !== undefined) {
          data.tags = checked(mergedTagsSchema, applyMergePatch(existing.tags, input.tags), 'tags');
        }
        if (input.credential !== undefined) {
          const merged = applyMergePatch(existing.credential, input.credential);
          data.credential = checked(mergedCredentialSchema, merged, 'credential');
        }
        if (input.target !== undefined) {
          const target = validateTarget(existing.protocol, applyMergePatch(existing.target, input.target));
          if (!target.ok) throw new ValidationError(target.problems);
          data.target = target.value;
        }
        if (input.agents !== undefined) {
          const agentIds = await resolveAgentNames(tx, input.agents);
          data.agents = { deleteMany: {}, create: agentIds.map((agentId) => ({ agentId })) };
        }
        return tx.connection.update({ where: { id: existing.id }, data, include: connectionInclude });
      });
      // Agents serving it get the new bundle at once (the push channel).
      this.agents.pushBundlesSoon();
      return presentConnection(row);
    } catch (error) {
      if (isUniqueViolation(error))
        throw new ConflictError(`a connection named "${input.name}" already exists`);
      throw error;
    }
  }
}

function checked<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ValidationError(toFieldProblems(result.error, [field]));
  return result.data;
}
