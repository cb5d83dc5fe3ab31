import { EventEmitter } from 'node:events';
import type { AgentTunnelWireClient, JournalDown, JournalUp } from '@tollgate/proto';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ShippableJournal, StoredRecord } from './audit-journal';
import { JournalShipper, SHIP_LINGER_MS } from './journal-shipper';

/** The gateway's end of the Journal stream: what it was sent, and a way to acknowledge. */
class FakeGatewayStream extends EventEmitter {
  readonly batches: JournalUp[] = [];
  write(batch: JournalUp): boolean {
    this.batches.push(batch);
    return true;
  }
  cancel(): void {}
  ack(down: JournalDown): void {
    this.emit('data', down);
  }
}

/** A journal in memory: `durable(n)` makes n more records durable, as an fdatasync would. */
class MemoryJournal implements ShippableJournal {
  readonly chain = 'c0ffee00-0000-4000-8000-000000000001';
  private records: StoredRecord[] = [];
  private seq = 0;
  durable(count: number): void {
    for (let i = 0; i < count; i++) {
      this.seq += 1;
      this.records.push({ seq: this.seq, prevHash: 'p', hash: 'h', event: '{}', at: 0 });
    }
  }
  unacknowledged(): readonly StoredRecord[] {
    return this.records;
  }
  async acknowledge(seq: number): Promise<void> {
    this.records = this.records.filter((r) => r.seq > seq);
  }
  get drained(): boolean {
    return this.records.length === 0;
  }
}

const lag = { maxAgeMs: 30_000, maxEvents: 100_000 };

function shipperWith(journal: MemoryJournal) {
  const stream = new FakeGatewayStream();
  const client = { journal: () => stream } as unknown as AgentTunnelWireClient;
  const shipper = new JournalShipper(client, 'token', lag, pino({ level: 'silent' }));
  shipper.add(journal);
  shipper.connect();
  return { shipper, stream };
}

const seqs = (batch: JournalUp | undefined) => batch?.records.map((r) => r.seq);

describe('JournalShipper', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('ships the records of statements made durable one after another as one batch, not one per fdatasync', async () => {
    const journal = new MemoryJournal();
    const { shipper, stream } = shipperWith(journal);
    // Five statements, each its own fdatasync (a client that waits for every reply).
    for (let i = 0; i < 5; i++) {
      journal.durable(2);
      shipper.wake();
    }
    expect(stream.batches).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(SHIP_LINGER_MS);
    expect(stream.batches).toHaveLength(1);
    expect(seqs(stream.batches[0])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('sends nothing more while the gateway stores a batch; what piled up meanwhile goes as one batch after its ack', async () => {
    const journal = new MemoryJournal();
    const { shipper, stream } = shipperWith(journal);
    journal.durable(2);
    shipper.wake();
    await vi.advanceTimersByTimeAsync(SHIP_LINGER_MS);
    expect(stream.batches).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      journal.durable(2);
      shipper.wake();
      await vi.advanceTimersByTimeAsync(SHIP_LINGER_MS);
    }
    expect(stream.batches).toHaveLength(1);
    stream.ack({ chain: journal.chain, seq: 2, error: '' });
    await vi.advanceTimersByTimeAsync(SHIP_LINGER_MS);
    expect(stream.batches).toHaveLength(2);
    expect(seqs(stream.batches[1])).toEqual([3, 4, 5, 6, 7, 8]);
    stream.ack({ chain: journal.chain, seq: 8, error: '' });
    await vi.advanceTimersByTimeAsync(SHIP_LINGER_MS);
    expect(journal.drained).toBe(true);
    expect(stream.batches).toHaveLength(2);
  });

  it('ships at once when the agent waits for the journal to drain (shutdown), without the linger', async () => {
    const journal = new MemoryJournal();
    const { shipper, stream } = shipperWith(journal);
    journal.durable(3);
    shipper.wake();
    const drained = shipper.whenDrained(60_000);
    expect(seqs(stream.batches[0])).toEqual([1, 2, 3]);
    stream.ack({ chain: journal.chain, seq: 3, error: '' });
    await vi.advanceTimersByTimeAsync(0);
    await expect(drained).resolves.toBe(true);
  });
});
