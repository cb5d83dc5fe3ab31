import type { Prisma } from '@tollgate/store';
import { NotFoundError } from '../../../common/errors';
import { byIdOrName } from '../../shared/resource-schemas';
import { agentInclude } from '../agent.presenter';

export async function findAgentOrThrow(tx: Prisma.TransactionClient, ref: string) {
  const row = await tx.agent.findUnique({ where: byIdOrName(ref), include: agentInclude });
  if (!row) throw new NotFoundError('agent', ref);
  return row;
}
