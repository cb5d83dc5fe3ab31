import { hostname } from 'node:os';

/** What `tollgate.lock` says about the process holding a data directory. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  readonly startedAt: string;
  readonly command: string;
}

export function currentHolder(command: string): LockHolder {
  return { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), command };
}

/** undefined for an empty or damaged file (e.g. the machine lost power while writing it). */
export function parseLockHolder(content: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { pid, hostname: host, startedAt, command } = value as Record<string, unknown>;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0) return undefined;
  if (typeof host !== 'string' || typeof startedAt !== 'string') return undefined;
  return { pid, hostname: host, startedAt, command: typeof command === 'string' ? command : '' };
}

export function isOnThisHost(holder: LockHolder): boolean {
  return holder.hostname === hostname();
}

/**
 * Whether the holder may still be running. A pid on another host cannot be checked, so it counts
 * as alive; a person has to decide. EPERM means the process exists under another user.
 */
export function isHolderAlive(holder: LockHolder): boolean {
  if (!isOnThisHost(holder)) return true;
  if (holder.pid === process.pid) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
