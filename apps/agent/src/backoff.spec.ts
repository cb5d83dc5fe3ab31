import { describe, expect, it } from 'vitest';
import { Backoff } from './backoff';

describe('Backoff', () => {
  it('grows exponentially, stays within the cap, and jitters in the upper half of each step', () => {
    const low = new Backoff(100, 2_000, () => 0);
    const high = new Backoff(100, 2_000, () => 1);
    const lows = Array.from({ length: 8 }, () => low.next());
    const highs = Array.from({ length: 8 }, () => high.next());
    expect(highs).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
    expect(lows).toEqual([50, 100, 200, 400, 800, 1000, 1000, 1000]);
  });

  it('starts over after a successful connection', () => {
    const backoff = new Backoff(100, 2_000, () => 1);
    for (let i = 0; i < 10; i++) backoff.next();
    backoff.reset();
    expect(backoff.next()).toBe(100);
  });
});
