import type { Prisma } from '@tollgate/store';
import { ValidationError } from '../../../common/errors';

/** Turns the agent names of a request into ids; every unknown name is reported by its position. */
export async function resolveAgentNames(
  tx: Prisma.TransactionClient,
  names: readonly string[],
): Promise<string[]> {
  const unique = [...new Set(names)];
  if (unique.length === 0) return [];
  const found = await tx.agent.findMany({
    where: { name: { in: unique } },
    select: { id: true, name: true },
  });
  const idByName = new Map(found.map((a) => [a.name, a.id]));
  const problems = names.flatMap((name, index) =>
    idByName.has(name) ? [] : [{ field: `agents[${index}]`, message: `agent "${name}" does not exist` }],
  );
  if (problems.length > 0) throw new ValidationError(problems);
  return unique.map((name) => idByName.get(name) as string);
}
