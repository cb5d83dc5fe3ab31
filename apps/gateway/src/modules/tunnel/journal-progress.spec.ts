import { afterEach, describe, expect, it, vi } from 'vitest';
import { JournalProgress } from './journal-progress';

afterEach(() => vi.useRealTimers());

/** Whether the promise has settled after the microtasks queued so far ran, and with what. */
async function settledWith<T>(promise: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((r) => setTimeout(() => r('pending'), 0))]);
}

describe('JournalProgress', () => {
  it('answers a wait once the journal is stored through its seq, not before', async () => {
    const progress = new JournalProgress();
    progress.streamOpened('agent-a');
    progress.stored('agent-a', 'chain-1', 3);
    const waiting = progress.whenStored('agent-a', 'chain-1', 7, 60_000);
    progress.stored('agent-a', 'chain-1', 6);
    progress.stored('agent-a', 'chain-2', 9); // another journal of the same agent
    progress.stored('agent-b', 'chain-1', 9); // another agent
    expect(await settledWith(waiting)).toBe('pending');
    progress.stored('agent-a', 'chain-1', 8);
    expect(await waiting).toBe(true);
    await expect(progress.whenStored('agent-a', 'chain-1', 8, 60_000)).resolves.toBe(true);
  });

  it("waits for a journal not seen yet while the agent's Journal stream is open here", async () => {
    const progress = new JournalProgress();
    progress.streamOpened('agent-a');
    const waiting = progress.whenStored('agent-a', 'fresh-chain', 2, 60_000);
    expect(await settledWith(waiting)).toBe('pending');
    progress.stored('agent-a', 'fresh-chain', 2);
    expect(await waiting).toBe(true);
  });

  it('does not wait for a journal shipped to another replica', async () => {
    const progress = new JournalProgress();
    await expect(progress.whenStored('agent-a', 'chain-1', 1, 60_000)).resolves.toBe(false);
    progress.streamOpened('agent-a');
    progress.streamOpened('agent-a');
    progress.streamClosed('agent-a');
    expect(await settledWith(progress.whenStored('agent-a', 'chain-1', 1, 60_000))).toBe('pending');
    progress.streamClosed('agent-a');
    await expect(progress.whenStored('agent-a', 'chain-1', 1, 60_000)).resolves.toBe(false);
  });

  it('gives up after its bound, and at once when the gateway stops', async () => {
    vi.useFakeTimers();
    const progress = new JournalProgress();
    progress.streamOpened('agent-a');
    const bounded = progress.whenStored('agent-a', 'chain-1', 5, 1_000);
    const other = progress.whenStored('agent-a', 'chain-1', 5, 60_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(bounded).resolves.toBe(false);
    progress.onModuleDestroy();
    await expect(other).resolves.toBe(false);
    await expect(progress.whenStored('agent-a', 'chain-1', 5, 60_000)).resolves.toBe(false);
    // A store that lands after a wait gave up answers nobody twice.
    progress.stored('agent-a', 'chain-1', 5);
  });
});
