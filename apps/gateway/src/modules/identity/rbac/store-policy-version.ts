import { createHash } from 'node:crypto';
import type { StoreService } from '../../store/store.service';

/** Stores `document` as the next version and makes it the only active one; resolves with its number. */
export function storePolicyVersion(
  prisma: StoreService['prisma'],
  input: { readonly document: string; readonly author: string; readonly comment?: string },
): Promise<number> {
  return prisma.$transaction(async (tx) => {
    const last = await tx.policyVersion.findFirst({
      orderBy: { version: 'desc' },
      select: { version: true },
    });
    const next = (last?.version ?? 0) + 1;
    await tx.policyVersion.updateMany({ where: { active: true }, data: { active: false } });
    await tx.policyVersion.create({
      data: {
        version: next,
        document: input.document,
        sha256: createHash('sha256').update(input.document).digest('hex'),
        author: input.author,
        comment: input.comment ?? null,
        active: true,
      },
    });
    return next;
  });
}
