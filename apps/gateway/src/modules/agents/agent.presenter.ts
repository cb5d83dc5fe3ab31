import type { Prisma } from '@tollgate/store';

export const agentInclude = {
  connections: { include: { connection: { select: { id: true, name: true } } } },
} satisfies Prisma.AgentInclude;

type AgentRow = Prisma.AgentGetPayload<{ include: typeof agentInclude }>;

/**
 * An agent is online while a replica holds its control stream and its heartbeats keep arriving
 * within this window (a replica that died without saying so stops refreshing `lastSeenAt`).
 */
export const AGENT_ONLINE_WINDOW_MS = 20_000;

export interface AgentView {
  id: string;
  name: string;
  description: string | null;
  labels: Record<string, string>;
  status: 'online' | 'offline';
  version: string | null;
  hostname: string | null;
  lastSeenAt: string | null;
  bundleVersion: string | null;
  connections: { id: string; name: string }[];
  createdAt: string;
  updatedAt: string;
}

export function presentAgent(row: AgentRow, now = Date.now()): AgentView {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    labels: row.labels as Record<string, string>,
    status: agentStatus(row, now),
    version: row.version,
    hostname: row.hostname,
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    bundleVersion: row.bundleVersion,
    connections: row.connections
      .map(({ connection }) => ({ id: connection.id, name: connection.name }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

function agentStatus(row: AgentRow, now: number): AgentView['status'] {
  if (row.connectedTo && row.lastSeenAt && now - row.lastSeenAt.getTime() < AGENT_ONLINE_WINDOW_MS) {
    return 'online';
  }
  return 'offline';
}
