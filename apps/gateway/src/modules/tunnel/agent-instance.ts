import { createHash } from 'node:crypto';

/**
 * An agent instance is one agent process: it draws a secret key at start and sends it with every
 * Register and SessionAttach. The gateway keeps and shows only this id, derived from the key, so
 * knowing the id (from the API or the audit log) does not let anyone pass for the instance.
 */
export function instanceIdOf(instanceKey: string): string {
  return createHash('sha256').update(instanceKey).digest('hex').slice(0, 24);
}

/** At least 128 bits of base64url (the agent sends 256). */
export function isInstanceKey(value: string): boolean {
  return /^[A-Za-z0-9_-]{22,128}$/.test(value);
}

/** Where an agent instance connects from, as the audit log and the API show it. */
export interface AgentInstanceInfo {
  readonly instanceId: string;
  readonly hostname: string;
  /** The stream's peer address (ip:port) as the replica saw it. */
  readonly address: string;
  readonly version: string;
}

/** The instance holding an agent's control stream, as a refused contender is told about it. */
export interface AgentHolder {
  readonly instanceId: string | null;
  readonly hostname: string | null;
  readonly address: string | null;
  readonly version: string | null;
  readonly connectedAt: Date | null;
  readonly lastSeenAt: Date | null;
  /** The gateway replica holding the stream. */
  readonly replica: string | null;
}
