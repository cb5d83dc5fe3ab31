import { createHash } from 'node:crypto';

/** The fields of an audit entry that its hash covers. */
export interface HashedAuditFields {
  readonly seq: string;
  readonly at: string;
  readonly subject: string;
  readonly actorChain: readonly unknown[];
  readonly action: string;
  readonly target: string | null;
  readonly decision: string;
  readonly reason: string | null;
  readonly payload: unknown;
}

export const GENESIS_HASH = '0'.repeat(64);

/**
 * The global chain's link: sha256 over prevHash and the canonical JSON (sorted keys) of the entry.
 * Kept in one place so it can be swapped for libs/audit's hashing once that library exists.
 */
export function auditEntryHash(fields: HashedAuditFields, prevHash: string): string {
  return createHash('sha256').update(prevHash).update('\n').update(canonicalJson(fields)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
