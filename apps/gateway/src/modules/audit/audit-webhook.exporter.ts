import { createHash, randomUUID } from 'node:crypto';
import {
  Inject,
  Injectable,
  Logger,
  Optional,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { StoreService } from '../store/store.service';
import { presentAuditEntry } from './audit-entry.presenter';
import { postSignedWebhook, WebhookOptionsToken, type WebhookOptions } from './webhook-dispatcher';

export interface AuditWebhookTuning {
  /** Records per POST (default 500). */
  readonly batchSize?: number;
  /** How often an idle exporter looks for records other replicas committed (default 1000 ms). */
  readonly pollMs?: number;
  /** How long a replica's delivery lease lasts without renewal (default 15 s): after a crash, another replica (or the restarted one) delivers within this long. */
  readonly leaseMs?: number;
  /** Longest wait between attempts at a failing receiver (default 30 s). */
  readonly maxDelayMs?: number;
}

export const AuditWebhookTuningToken = Symbol('AuditWebhookTuning');

const BASE_DELAY_MS = 250;

/**
 * Streams the audit log to the audit webhook, from the log itself: it reads committed records after
 * a cursor kept in the store (`webhook_cursors`), POSTs them in order (signed, as
 * `{"type":"audit.records","records":[...]}`), and moves the cursor only when the receiver answered
 * 2xx. A receiver that is down is retried with capped backoff for as long as it takes: nothing is
 * dropped, nothing is held in memory, and a gateway restart resumes where the receiver left off.
 * Delivery is at least once (a crash between the receiver's 2xx and the cursor update resends that
 * batch; `seq` identifies records). With several replicas, one holds a lease and delivers; another
 * takes over when the lease lapses. Sessions never wait for any of this.
 */
@Injectable()
export class AuditWebhookExporter implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('audit-webhook');
  private readonly replica = randomUUID();
  private readonly url: string | undefined;
  private readonly name: string;
  private readonly batchSize: number;
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private readonly maxDelayMs: number;
  private cursor = 0n;
  private leaseRenewedAt = 0;
  private stopped = false;
  private running: Promise<void> | undefined;
  private readonly sleepers = new Set<{ readonly wakeable: boolean; readonly done: () => void }>();
  /** Records delivered since start, for tests and metrics. */
  readonly stats = { delivered: 0, failedAttempts: 0 };

  constructor(
    private readonly store: StoreService,
    @Inject(WebhookOptionsToken) private readonly options: WebhookOptions,
    @Optional() @Inject(AuditWebhookTuningToken) tuning: AuditWebhookTuning | null = null,
  ) {
    this.url = options.auditWebhookUrl;
    this.name = `audit:${createHash('sha256')
      .update(this.url ?? '')
      .digest('hex')}`;
    this.batchSize = tuning?.batchSize ?? 500;
    this.pollMs = tuning?.pollMs ?? 1000;
    this.leaseMs = tuning?.leaseMs ?? 15_000;
    this.maxDelayMs = tuning?.maxDelayMs ?? 30_000;
  }

  /** Whether an audit webhook is configured. */
  get enabled(): boolean {
    return this.url !== undefined;
  }

  /** A commit happened: look for new records now instead of at the next poll. */
  wake(): void {
    for (const sleeper of [...this.sleepers]) if (sleeper.wakeable) sleeper.done();
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.url) return;
    // A webhook seen for the first time starts at the log's head: it receives what happens from now.
    await this.store.sql.query(
      `INSERT INTO webhook_cursors (name, last_seq)
         SELECT $1, COALESCE(MAX(seq), 0) FROM audit_entries
       ON CONFLICT (name) DO NOTHING`,
      [this.name],
    );
    this.running = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const sleeper of [...this.sleepers]) sleeper.done();
    await this.running;
    if (this.leaseRenewedAt > 0) {
      await this.store.sql
        .query(
          `UPDATE webhook_cursors SET leased_by = NULL, lease_until = NULL WHERE name = $1 AND leased_by = $2`,
          [this.name, this.replica],
        )
        .catch(() => undefined);
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        if (!(await this.holdLease())) {
          await this.pause(Math.max(this.pollMs, this.leaseMs / 4));
          continue;
        }
        const rows = await this.store.prisma.auditEntry.findMany({
          where: { seq: { gt: this.cursor } },
          orderBy: { seq: 'asc' },
          take: this.batchSize,
        });
        const last = rows.at(-1);
        if (!last) {
          await this.pause(this.pollMs);
          continue;
        }
        const body = JSON.stringify({ type: 'audit.records', records: rows.map(presentAuditEntry) });
        const error = await postSignedWebhook(this.url as string, body, this.options.webhookSecret);
        if (error !== null) throw new Error(`the receiver answered ${error}`);
        await this.advance(last.seq);
        this.stats.delivered += rows.length;
        if (failures > 0) this.logger.log(`audit webhook delivering again after ${failures} failed attempts`);
        failures = 0;
      } catch (error) {
        failures += 1;
        this.stats.failedAttempts += 1;
        // Said on the first failure and then now and again, not on every retry.
        if (failures === 1 || failures % 20 === 0) {
          this.logger.warn(
            `audit webhook to ${hostOf(this.url)} not delivered (attempt ${failures}, records after seq ${this.cursor} wait in the log): ${
              error instanceof Error ? error.message : String(error)
            }`,
          );
        }
        const delay = Math.min(this.maxDelayMs, BASE_DELAY_MS * 2 ** Math.min(failures - 1, 20));
        await this.pause(delay / 2 + Math.random() * (delay / 2), false);
      }
    }
  }

  /** Takes or renews this replica's lease; on taking it over, continues from the stored cursor. */
  private async holdLease(): Promise<boolean> {
    if (Date.now() - this.leaseRenewedAt < this.leaseMs / 3) return true;
    const rows = await this.store.sql.query<{ last_seq: bigint | number | string }>(
      `UPDATE webhook_cursors
          SET leased_by = $2, lease_until = now() + $3 * interval '1 millisecond', updated_at = now()
        WHERE name = $1 AND (leased_by IS NULL OR leased_by = $2 OR lease_until < now())
        RETURNING last_seq`,
      [this.name, this.replica, this.leaseMs],
    );
    const row = rows[0];
    if (!row) {
      this.leaseRenewedAt = 0;
      return false;
    }
    this.cursor = BigInt(String(row.last_seq));
    this.leaseRenewedAt = Date.now();
    return true;
  }

  private async advance(seq: bigint): Promise<void> {
    const rows = await this.store.sql.query(
      `UPDATE webhook_cursors SET last_seq = $2, updated_at = now()
        WHERE name = $1 AND leased_by = $3 AND last_seq < $2 RETURNING name`,
      [this.name, seq.toString(), this.replica],
    );
    // Lost the lease meanwhile: the replica that holds it now goes on from the stored cursor.
    if (rows.length === 0) this.leaseRenewedAt = 0;
    else this.cursor = seq;
  }

  /** Waits `ms`, or less when woken by a commit (unless `wakeable` is false) or on shutdown. */
  private pause(ms: number, wakeable = true): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const sleeper = {
        wakeable,
        done: () => {
          clearTimeout(timer);
          this.sleepers.delete(sleeper);
          resolve();
        },
      };
      const timer = setTimeout(sleeper.done, ms);
      timer.unref();
      this.sleepers.add(sleeper);
    });
  }
}

function hostOf(url: string | undefined): string {
  try {
    return url ? new URL(url).host : '';
  } catch {
    return '';
  }
}
