import { Metadata, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { JournalLag } from '@tollgate/config';
import type { AgentTunnelWireClient, JournalDown, JournalUp } from '@tollgate/proto';
import type { Logger } from 'pino';
import type { ShippableJournal } from './audit-journal';

/** Most records per JournalUp message (a batch stays far below the 4 MiB message limit). */
const BATCH_RECORDS = 512;
const BATCH_BYTES = 1024 * 1024;
/**
 * Batches sent and not yet acknowledged. The gateway commits one batch at a time per stream, so
 * while it is busy the records pile up here and leave as one larger batch (one commit) instead of
 * one small batch per fdatasync.
 */
const MAX_IN_FLIGHT = 1;
/**
 * How long newly durable records wait for company before they are shipped. The gateway stores a
 * batch in one transaction whose cost is mostly per transaction, and on the embedded store that
 * transaction runs on the gateway's own thread, which also relays every session's bytes: shipped
 * after each fdatasync (one statement's records), every statement's reply queued behind the
 * previous statement's commit. The records are already durable here (the commands they guard ran
 * on that), so this only delays when the gateway's log shows them, far inside the lag bound.
 */
export const SHIP_LINGER_MS = 50;
/**
 * After a refused batch or a broken stream, wait this long before sending again, doubling up to
 * MAX_RETRY_MS while the gateway keeps refusing (a refused batch fails the gateway's whole group
 * commit, so a tight retry loop would also fail the records it shares commits with).
 */
const RETRY_MS = 500;
const MAX_RETRY_MS = 5_000;

/**
 * Ships the agent's journals to the gateway on the AgentTunnel.Journal stream: journals left by an
 * earlier process first (in the order they were made), then this process's own, each in sequence
 * order. The gateway acknowledges how far each journal is durable in its audit log; the journal
 * then drops that much. Records sent but not acknowledged when a stream breaks are sent again on
 * the next one (the gateway stores each chain and sequence number once). Also the judge of the
 * lag bound: commands are refused while the backlog is older or larger than it.
 */
export class JournalShipper {
  private readonly journals: ShippableJournal[] = [];
  private stream: ClientDuplexStream<JournalUp, JournalDown> | undefined;
  /** Per chain: the highest seq written to the current stream. */
  private readonly sent = new Map<string, number>();
  private wanted = false;
  private retry: NodeJS.Timeout | undefined;
  private blocked = false;
  private retryMs = RETRY_MS;
  private inFlight = 0;
  private linger: NodeJS.Timeout | undefined;
  private readonly drainWaiters: (() => void)[] = [];

  constructor(
    private readonly client: AgentTunnelWireClient,
    private readonly token: string,
    private readonly lag: JournalLag,
    private readonly logger: Logger,
  ) {}

  add(journal: ShippableJournal): void {
    this.journals.push(journal);
    this.pump();
  }

  get drained(): boolean {
    return this.journals.every((j) => j.drained);
  }

  /** Why a new command must be refused now, if it must (the backlog is past the lag bound). */
  refusal(now = performance.now()): string | undefined {
    let events = 0;
    let oldest: number | undefined;
    for (const journal of this.journals) {
      const pending = journal.unacknowledged();
      events += pending.length;
      const first = pending[0];
      if (first && (oldest === undefined || first.at < oldest)) oldest = first.at;
    }
    const ageMs = oldest === undefined ? 0 : now - oldest;
    if (events < this.lag.maxEvents && ageMs <= this.lag.maxAgeMs) return undefined;
    return (
      `the agent's audit journal holds ${events} event(s) the gateway has not acknowledged, the oldest ` +
      `for ${(ageMs / 1000).toFixed(1)} s; TOLLGATE_AGENT_JOURNAL_MAX_LAG allows ${this.lag.maxAgeMs / 1000} s ` +
      `and ${this.lag.maxEvents} events`
    );
  }

  /** The control stream is registered: open the journal stream and send what is waiting. */
  connect(): void {
    this.wanted = true;
    if (this.stream) return;
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${this.token}`);
    const stream = this.client.journal(metadata);
    this.stream = stream;
    this.sent.clear();
    this.blocked = false;
    this.inFlight = 0;
    stream.on('data', (down: JournalDown) => void this.acknowledged(down));
    const gone = (reason: string) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      this.sent.clear();
      this.inFlight = 0;
      if (this.wanted) {
        this.logger.warn({ reason }, 'journal stream lost; shipping again shortly');
        this.later();
      }
    };
    stream.on('error', (error: ServiceError) => gone(error.details || error.message));
    stream.on('end', () => gone('the gateway ended the journal stream'));
    this.pump();
  }

  /** The control stream is gone: stop shipping until it is back. */
  disconnect(): void {
    this.wanted = false;
    clearTimeout(this.retry);
    this.retry = undefined;
    clearTimeout(this.linger);
    this.linger = undefined;
    const stream = this.stream;
    this.stream = undefined;
    this.sent.clear();
    stream?.cancel();
  }

  /**
   * Something new is durable: shipped with what else becomes durable within SHIP_LINGER_MS (at
   * once when a whole batch is waiting, or when someone waits for the journal to drain).
   */
  wake(): void {
    if (this.linger || this.inFlight >= MAX_IN_FLIGHT) return;
    const unsent = this.unsent();
    if (unsent === 0) return;
    if (this.drainWaiters.length > 0 || unsent >= BATCH_RECORDS) {
      this.pump();
      return;
    }
    this.linger = setTimeout(() => {
      this.linger = undefined;
      this.pump();
    }, SHIP_LINGER_MS);
  }

  /** Records not yet written to the current stream (all journals). */
  private unsent(): number {
    let count = 0;
    for (const journal of this.journals) {
      const records = journal.unacknowledged();
      const first = records[0];
      if (first === undefined) continue;
      count += records.length - Math.max(0, (this.sent.get(journal.chain) ?? 0) + 1 - first.seq);
    }
    return count;
  }

  /** Resolves true once every journal is acknowledged, false when `timeoutMs` passes first. */
  whenDrained(timeoutMs: number): Promise<boolean> {
    if (this.drained) return Promise.resolve(true);
    const drained = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    this.pump();
    return drained;
  }

  private later(): void {
    this.retry ??= setTimeout(() => {
      this.retry = undefined;
      if (this.wanted && !this.stream) this.connect();
      else this.pump();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  private pump(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    const stream = this.stream;
    if (!stream || this.blocked) return;
    for (const journal of this.journals) {
      const from = this.sent.get(journal.chain) ?? 0;
      const records = journal.unacknowledged();
      // Records are consecutive: the first one not sent yet is found by arithmetic, not a scan.
      const first = records[0];
      let i = first === undefined ? -1 : Math.max(0, from + 1 - first.seq);
      while (i >= 0 && i < records.length) {
        if (this.inFlight >= MAX_IN_FLIGHT) return;
        const batch: JournalUp['records'] = [];
        let bytes = 0;
        for (; i < records.length && batch.length < BATCH_RECORDS && bytes < BATCH_BYTES; i++) {
          const r = records[i];
          // The kept record itself: encoding reads only the message's fields (its `at` stays here).
          batch.push(r);
          bytes += r.event.length + 150;
        }
        this.sent.set(journal.chain, batch.at(-1)!.seq);
        this.inFlight++;
        if (!stream.write({ chain: journal.chain, records: batch })) {
          this.blocked = true;
          stream.once('drain', () => {
            this.blocked = false;
            this.pump();
          });
          return;
        }
      }
      // Journals left by an earlier process go first: the next one only once this one is all in.
      if (!journal.drained) return;
    }
  }

  private async acknowledged(down: JournalDown): Promise<void> {
    this.inFlight = Math.max(0, this.inFlight - 1);
    const journal = this.journals.find((j) => j.chain === down.chain);
    if (!journal) return;
    if (down.seq > 0) await journal.acknowledge(down.seq);
    if (down.error) {
      this.logger.warn({ chain: down.chain, error: down.error }, 'the gateway did not store journal records');
      this.sent.set(down.chain, down.seq);
      this.later();
      return;
    }
    this.retryMs = RETRY_MS;
    for (let i = this.journals.length - 1; i >= 0; i--) {
      const j = this.journals[i];
      // A leftover journal that is fully shipped is done (its directory is gone); the live one stays.
      if (j.drained && 'release' in j && i < this.journals.length - 1) this.journals.splice(i, 1);
    }
    if (this.drained) for (const resolve of this.drainWaiters.splice(0)) resolve();
    // What became durable during that commit waits for company too (one commit per window).
    this.wake();
  }
}
