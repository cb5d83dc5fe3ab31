import { describe, expect, it } from 'vitest';
import { AuditThrottle } from './audit-throttle';

describe('AuditThrottle', () => {
  it('records the first refusal of a key, counts repeats within the window, and reports them with the next record', () => {
    const throttle = new AuditThrottle(60_000);
    expect(throttle.admit('edge-1|i2', 0)).toEqual({ record: true, suppressed: 0 });
    expect(throttle.admit('edge-1|i2', 5_000)).toEqual({ record: false, suppressed: 0 });
    expect(throttle.admit('edge-1|i2', 59_999)).toEqual({ record: false, suppressed: 0 });
    // Another key is independent.
    expect(throttle.admit('edge-1|i3', 10_000)).toEqual({ record: true, suppressed: 0 });
    expect(throttle.admit('edge-1|i2', 60_000)).toEqual({ record: true, suppressed: 2 });
    expect(throttle.admit('edge-1|i2', 60_001)).toEqual({ record: false, suppressed: 0 });
    expect(throttle.admit('edge-1|i2', 200_000)).toEqual({ record: true, suppressed: 1 });
  });

  it('stays bounded: past its size the oldest keys are forgotten, so their next refusal is recorded', () => {
    const throttle = new AuditThrottle(60_000, 3);
    for (const key of ['a', 'b', 'c', 'd']) expect(throttle.admit(key, 1).record).toBe(true);
    expect(throttle.admit('a', 2)).toEqual({ record: true, suppressed: 0 });
    expect(throttle.admit('d', 2).record).toBe(false);
  });
});
