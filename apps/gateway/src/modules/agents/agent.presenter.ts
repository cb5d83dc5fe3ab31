import type { Prisma } from '@tollgate/store';
import { AGENT_LIVENESS_WINDOW_MS } from '../tunnel/agent-presence';

export const agentInclude = {
  connections: { include: { connection: { select: { id: true, name: true } } } },
} satisfies Prisma.AgentInclude;

type AgentRow = Prisma.AgentGetPayload<{ include: typeof agentInclude }>;

export interface AgentView {
  id: string;
  name: string;
  description: string | null;
  labels: Record<string, string>;
  status: 'online' | 'offline';
  version: string | null;
  hostname: string | null;
  /** The agent process holding its stream (a hash of its secret instance key), while online. */
  instance: string | null;
  /** Where that stream comes from (ip:port as the gateway saw it), while online. */
  address: string | null;
  lastSeenAt: string | null;
  bundleVersion: string | null;
  /** The policy version in the bundle the agent acknowledged (0: the built-in default). */
  policyVersion: number | null;
  connections: { id: string; name: string }[];
  createdAt: string;
  updatedAt: string;
}

export function presentAgent(row: AgentRow, now = Date.now()): AgentView {
  const status = agentStatus(row, now);
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    labels: row.labels as Record<string, string>,
    status,
    version: row.version,
    hostname: row.hostname,
    instance: status === 'online' ? row.instanceId : null,
    address: status === 'online' ? row.address : null,
    lastSeenAt: row.lastSeenAt?.toISOString() ?? null,
    bundleVersion: row.bundleVersion,
    policyVersion: row.policyVersion,
    connections: row.connections
      .map(({ connection }) => ({ id: connection.id, name: connection.name }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

/**
 * An agent is online while a replica holds its control stream and its heartbeats keep arriving
 * within the liveness window (a replica that died without saying so stops refreshing `lastSeenAt`).
 */
function agentStatus(row: AgentRow, now: number): AgentView['status'] {
  if (row.connectedTo && row.lastSeenAt && now - row.lastSeenAt.getTime() < AGENT_LIVENESS_WINDOW_MS) {
    return 'online';
  }
  return 'offline';
}
