import { Injectable, type OnModuleDestroy } from '@nestjs/common';

/** Journals whose progress is kept (one or a few per agent process; the oldest go first). */
const MAX_JOURNALS = 10_000;

interface Waiter {
  readonly seq: number;
  readonly resolve: (stored: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * How far each agent journal shipped to this replica is stored in the audit log (the unbroken
 * prefix the intake acknowledged), and who waits for a point in it: a session's close is recorded
 * once the records its agent journaled for it are, so the session's chain has the close last.
 */
@Injectable()
export class JournalProgress implements OnModuleDestroy {
  /** `agentId/chain` → the highest seq stored. */
  private readonly through = new Map<string, number>();
  private readonly waiters = new Map<string, Waiter[]>();
  /** Agents whose Journal stream is open on this replica, and how many such streams. */
  private readonly streams = new Map<string, number>();
  private stopped = false;

  /** An agent's Journal stream opened on this replica (its records will be stored here). */
  streamOpened(agentId: string): void {
    this.streams.set(agentId, (this.streams.get(agentId) ?? 0) + 1);
  }

  streamClosed(agentId: string): void {
    const open = (this.streams.get(agentId) ?? 0) - 1;
    if (open > 0) this.streams.set(agentId, open);
    else this.streams.delete(agentId);
  }

  /** The intake stored `agentId`'s journal `chain` through `seq`. */
  stored(agentId: string, chain: string, seq: number): void {
    const key = journalKey(agentId, chain);
    const known = this.through.get(key);
    if (known === undefined && this.through.size >= MAX_JOURNALS) {
      this.through.delete(this.through.keys().next().value as string);
    }
    if (known === undefined || seq > known) this.through.set(key, seq);
    const waiting = this.waiters.get(key);
    if (!waiting) return;
    const still = waiting.filter((w) => {
      if (w.seq > seq) return true;
      clearTimeout(w.timer);
      w.resolve(true);
      return false;
    });
    if (still.length > 0) this.waiters.set(key, still);
    else this.waiters.delete(key);
  }

  /**
   * Resolves true once `agentId`'s journal `chain` is stored through `seq`; false after `timeoutMs`,
   * at once when the journal is shipped elsewhere (this replica has no Journal stream of the agent's
   * and has stored none of that journal), and at once once the gateway is stopping.
   */
  whenStored(agentId: string, chain: string, seq: number, timeoutMs: number): Promise<boolean> {
    const key = journalKey(agentId, chain);
    const known = this.through.get(key);
    if (this.stopped || (known === undefined && !this.streams.has(agentId))) return Promise.resolve(false);
    if (known !== undefined && known >= seq) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const waiting = this.waiters.get(key);
        const index = waiting?.indexOf(waiter) ?? -1;
        if (waiting && index >= 0) {
          waiting.splice(index, 1);
          if (waiting.length === 0) this.waiters.delete(key);
        }
        resolve(false);
      }, timeoutMs);
      timer.unref();
      const waiter: Waiter = { seq, resolve, timer };
      const waiting = this.waiters.get(key);
      if (waiting) waiting.push(waiter);
      else this.waiters.set(key, [waiter]);
    });
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const waiting of this.waiters.values()) {
      for (const w of waiting) {
        clearTimeout(w.timer);
        w.resolve(false);
      }
    }
    this.waiters.clear();
  }
}

function journalKey(agentId: string, chain: string): string {
  return `${agentId}/${chain}`;
}
