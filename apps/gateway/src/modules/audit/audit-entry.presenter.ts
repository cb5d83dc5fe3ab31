import type { AuditEntry } from '@tollgate/store';

/** An audit record as the API and the JSON-lines export show it (seq as a string: it is a bigint). */
export interface AuditEntryView {
  readonly seq: string;
  readonly at: string;
  readonly subject: string;
  readonly actorChain: unknown;
  readonly action: string;
  readonly target: string | null;
  readonly decision: string;
  readonly reason: string | null;
  readonly payload: unknown;
  readonly prevHash: string;
  readonly hash: string;
}

export function presentAuditEntry(r: AuditEntry): AuditEntryView {
  return {
    seq: r.seq.toString(),
    at: r.at.toISOString(),
    subject: r.subject,
    actorChain: r.actorChain,
    action: r.action,
    target: r.target,
    decision: r.decision,
    reason: r.reason,
    payload: r.payload,
    prevHash: r.prevHash,
    hash: r.hash,
  };
}
