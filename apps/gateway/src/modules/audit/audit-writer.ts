import { Injectable } from '@nestjs/common';
import type { Prisma } from '@tollgate/store';
import { StoreService } from '../store/store.service';
import { auditEntryHash, GENESIS_HASH } from './audit-hash';

export interface AuditRecord {
  /** Who: `user:<id>`, `sa:<name>`, or `anonymous` when no identity could be established. */
  readonly subject: string;
  /** Actors acting for the subject, nearest first (RFC 8693 `act`). */
  readonly actorChain?: readonly { readonly subject: string }[];
  /** What was attempted: `authenticate`, `authorize:<verb>`, `token:exchange` ... */
  readonly action: string;
  /** What it was attempted on: a connection name, an API route, a token id. */
  readonly target?: string;
  readonly decision: 'allow' | 'deny';
  readonly reason?: string;
  readonly payload?: Record<string, unknown>;
}

export interface WrittenAuditEntry {
  readonly seq: bigint;
  readonly hash: string;
}

// Serialises appends to the global chain across transactions and gateway replicas.
const AUDIT_CHAIN_LOCK = 7_243_001;

/**
 * Appends entries to the global audit hash chain. The entry is durable when `record` resolves;
 * callers that gate an action on it must treat a rejection as a denial (fail closed).
 */
@Injectable()
export class AuditWriter {
  constructor(private readonly store: StoreService) {}

  async record(record: AuditRecord): Promise<WrittenAuditEntry> {
    return this.store.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${AUDIT_CHAIN_LOCK})`);
      const last = await tx.auditEntry.findFirst({
        orderBy: { seq: 'desc' },
        select: { seq: true, hash: true },
      });
      const seq = (last?.seq ?? 0n) + 1n;
      const prevHash = last?.hash ?? GENESIS_HASH;
      const at = new Date();
      const actorChain = (record.actorChain ?? []).map((a) => ({ subject: a.subject }));
      const payload = record.payload ?? {};
      const hash = auditEntryHash(
        seq,
        {
          at: at.toISOString(),
          subject: record.subject,
          actorChain,
          action: record.action,
          target: record.target ?? null,
          decision: record.decision,
          reason: record.reason ?? null,
          payload,
        },
        prevHash,
      );
      await tx.auditEntry.create({
        data: {
          seq,
          at,
          subject: record.subject,
          actorChain,
          action: record.action,
          target: record.target ?? null,
          decision: record.decision,
          reason: record.reason ?? null,
          payload: payload as Prisma.InputJsonValue,
          prevHash,
          hash,
        },
      });
      return { seq, hash };
    });
  }
}
