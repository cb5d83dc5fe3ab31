import { GENESIS_HASH, linkHash } from '@tollgate/audit';

/** The fields of an audit entry that its hash covers. */
export interface HashedAuditFields {
  readonly at: string;
  readonly subject: string;
  readonly actorChain: readonly { readonly subject: string }[];
  readonly action: string;
  readonly target: string | null;
  readonly decision: string;
  readonly reason: string | null;
  readonly payload: unknown;
}

/** The chain id of the gateway's global audit log (libs/audit hashes it with every record). */
export const GLOBAL_AUDIT_CHAIN = 'global';

export { GENESIS_HASH };

/** The global chain's link, by libs/audit: sha256(prevHash + canonical({chain, seq, event})). */
export function auditEntryHash(seq: bigint, fields: HashedAuditFields, prevHash: string): string {
  return linkHash(prevHash, GLOBAL_AUDIT_CHAIN, Number(seq), fields);
}

/** Each hashed field as canonical JSON text (`canonicalJson(fields[key])`). */
export type CanonicalAuditFields = { readonly [K in keyof HashedAuditFields]: string };

/**
 * `canonicalJson(fields)` put together from the fields' own canonical texts, so a writer that also
 * stores those texts serializes each field once. Keys in canonical (UTF-16) order.
 */
export function canonicalAuditFields(c: CanonicalAuditFields): string {
  return `{"action":${c.action},"actorChain":${c.actorChain},"at":${c.at},"decision":${c.decision},"payload":${c.payload},"reason":${c.reason},"subject":${c.subject},"target":${c.target}}`;
}
