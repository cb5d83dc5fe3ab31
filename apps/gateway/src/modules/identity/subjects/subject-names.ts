import type { StoreService } from '../../store/store.service';

type Prisma = StoreService['prisma'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * How people are shown beside their ids: `user:<id>` subjects by e-mail (or display name when the
 * IdP gave no e-mail). Other subjects (`sa:<name>`, ...) already name themselves.
 */
export async function subjectNames(prisma: Prisma, subjects: Iterable<string>): Promise<Map<string, string>> {
  const ids = new Set<string>();
  for (const subject of subjects) {
    if (subject.startsWith('user:') && UUID.test(subject.slice(5))) ids.add(subject.slice(5));
  }
  if (ids.size === 0) return new Map();
  const users = await prisma.user.findMany({
    where: { id: { in: [...ids] } },
    select: { id: true, email: true, displayName: true },
  });
  const names = new Map<string, string>();
  for (const user of users) {
    const name = user.email ?? user.displayName;
    if (name) names.set(`user:${user.id}`, name);
  }
  return names;
}

/**
 * The subjects a person-facing filter means: the text as a subject, the users whose e-mail or
 * display name it is (case-insensitive), and the service account of that name.
 */
export async function subjectsMatching(prisma: Prisma, who: string): Promise<string[]> {
  const users = await prisma.user.findMany({
    where: {
      OR: [
        { email: { equals: who, mode: 'insensitive' } },
        { displayName: { equals: who, mode: 'insensitive' } },
      ],
    },
    select: { id: true },
  });
  const account = await prisma.serviceAccount.findUnique({ where: { name: who }, select: { name: true } });
  return [who, ...users.map((u) => `user:${u.id}`), ...(account ? [`sa:${account.name}`] : [])];
}
