import type { Prisma } from '@tollgate/store';

export const connectionInclude = {
  agents: { include: { agent: { select: { id: true, name: true } } } },
} satisfies Prisma.ConnectionInclude;

type ConnectionRow = Prisma.ConnectionGetPayload<{ include: typeof connectionInclude }>;

/** The API's view of a connection. Credentials are references (env:/file:), never secret values. */
export interface ConnectionView {
  id: string;
  name: string;
  protocol: string;
  description: string | null;
  tags: Record<string, string>;
  target: Record<string, unknown>;
  credential: Record<string, string>;
  agents: { id: string; name: string }[];
  createdAt: string;
  updatedAt: string;
}

export function presentConnection(row: ConnectionRow): ConnectionView {
  return {
    id: row.id,
    name: row.name,
    protocol: row.protocol,
    description: row.description,
    tags: row.tags as Record<string, string>,
    target: row.target as Record<string, unknown>,
    credential: row.credential as Record<string, string>,
    agents: row.agents
      .map(({ agent }) => ({ id: agent.id, name: agent.name }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
