import type { SubjectContext } from '@tollgate/policy';
import type { StoreService } from '../../store/store.service';

/**
 * Every principal that can act now, as the policy engine sees it: enabled users (by id and e-mail,
 * with the groups the store holds for them) and enabled service accounts with their groups.
 */
export async function enabledPrincipals(prisma: StoreService['prisma']): Promise<SubjectContext[]> {
  const users = await prisma.user.findMany({
    where: { disabled: false },
    select: { id: true, email: true, memberships: { select: { group: { select: { name: true } } } } },
  });
  const accounts = await prisma.serviceAccount.findMany({
    where: { disabled: false },
    select: { name: true, groups: true },
  });
  return [
    ...users.map((u) => ({
      subject: `user:${u.id}`,
      ...(u.email ? { email: u.email } : {}),
      groups: u.memberships.map((m) => m.group.name),
      actorChain: [],
    })),
    ...accounts.map((a) => ({
      subject: `sa:${a.name}`,
      groups: Array.isArray(a.groups) ? a.groups.filter((g): g is string => typeof g === 'string') : [],
      actorChain: [],
    })),
  ];
}
