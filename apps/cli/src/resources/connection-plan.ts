import type { ConnectionView } from '@tollgate/gateway';
import type { ApiClient } from '../api-client';
import { ApiCallError } from '../api-client';
import { mergePatchTo } from './merge-patch';

export type { ConnectionView };

/** A connection document checked by the gateway's own validator: its defaults filled in. */
export interface DesiredConnection {
  name: string;
  protocol: string;
  description?: string;
  tags: Record<string, string>;
  target: Record<string, unknown>;
  credential: Record<string, unknown>;
  agents: string[];
}

export type ConnectionPlan =
  | { action: 'create'; name: string; body: Record<string, unknown> }
  | { action: 'update'; name: string; patch: Record<string, unknown> }
  | { action: 'unchanged'; name: string };

export async function findConnection(api: ApiClient, name: string): Promise<ConnectionView | undefined> {
  try {
    return await api.call<ConnectionView>('GET', `/api/v1/connections/${encodeURIComponent(name)}`);
  } catch (error) {
    if (error instanceof ApiCallError && error.status === 404) return undefined;
    throw error;
  }
}

/**
 * What applying a connection document would do: create it, change exactly the fields that differ
 * (a merge patch: keys the document no longer has are removed), or nothing.
 */
export function planConnection(
  current: ConnectionView | undefined,
  desired: DesiredConnection,
  body: Record<string, unknown>,
): ConnectionPlan {
  if (!current) return { action: 'create', name: desired.name, body };
  if (current.protocol !== desired.protocol) {
    throw new Error(
      `connection ${desired.name} speaks ${current.protocol}, the document says ${desired.protocol}: the protocol never changes (delete it and apply again)`,
    );
  }
  const patch: Record<string, unknown> = {};
  const description = desired.description ?? null;
  if (current.description !== description) patch['description'] = description;
  for (const field of ['tags', 'target', 'credential'] as const) {
    const change = mergePatchTo(current[field], desired[field]);
    if (change !== undefined) patch[field] = change;
  }
  const agents = [...desired.agents].sort();
  const currentAgents = current.agents.map((a) => a.name).sort();
  if (JSON.stringify(agents) !== JSON.stringify(currentAgents)) patch['agents'] = agents;
  return Object.keys(patch).length === 0
    ? { action: 'unchanged', name: desired.name }
    : { action: 'update', name: desired.name, patch };
}
