import type { Prisma } from '@tollgate/store';
import { NotFoundError } from '../../../common/errors';
import { byIdOrName } from '../../shared/resource-schemas';
import { connectionInclude } from '../connection.presenter';

export async function findConnectionOrThrow(tx: Prisma.TransactionClient, ref: string) {
  const row = await tx.connection.findUnique({ where: byIdOrName(ref), include: connectionInclude });
  if (!row) throw new NotFoundError('connection', ref);
  return row;
}
