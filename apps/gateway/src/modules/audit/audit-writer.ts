import { Injectable } from '@nestjs/common';
import { StoreService } from '../store/store.service';
import { AuditCommitter, type AppendOptions, type AuditAppend, type CommittedAudit } from './audit-committer';
import { AuditWebhookExporter } from './audit-webhook.exporter';

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

/**
 * Appends entries to the global audit hash chain (and session events to their session's chain),
 * through one group committer: concurrent records share a transaction. An entry is durable when
 * the promise resolves; callers that gate an action on it must treat a rejection as a denial
 * (fail closed).
 */
@Injectable()
export class AuditWriter {
  readonly committer: AuditCommitter;

  constructor(store: StoreService, exporter: AuditWebhookExporter) {
    // The webhook exporter reads committed records from the log; a commit only tells it to look now.
    this.committer = new AuditCommitter(
      store.sql,
      exporter.enabled ? { onCommit: () => exporter.wake() } : {},
    );
  }

  async record(record: AuditRecord): Promise<WrittenAuditEntry> {
    const { seq, hash } = await this.committer.append(record);
    return { seq, hash };
  }

  /**
   * Any append, including session events (see AuditCommitter). `{ defer: true }` for records
   * nobody waits on before acting (a command's result): they ride along with the next commit.
   */
  append(append: AuditAppend, options?: AppendOptions): Promise<CommittedAudit> {
    return this.committer.append(append, options);
  }

  /** Marks a session's row open, served by `agentId`, with the next commit (see AuditCommitter.markOpen). */
  markOpen(id: string, agentId: string): Promise<void> {
    return this.committer.markOpen(id, agentId);
  }
}
