import { describe, expect, it } from 'vitest';
import { LoginFailures } from './login-failures';

describe('LoginFailures', () => {
  it('refuses an address past its failures in the window, until the oldest of them ages out', () => {
    const failures = new LoginFailures(3, 60_000);
    for (const t of [0, 10_000, 20_000]) {
      expect(failures.blockedFor('10.0.0.1', t)).toBe(0);
      failures.failed('10.0.0.1', t);
    }
    expect(failures.blockedFor('10.0.0.1', 30_000)).toBe(30_000);
    // Another address is counted apart.
    expect(failures.blockedFor('10.0.0.2', 30_000)).toBe(0);
    expect(failures.blockedFor('10.0.0.1', 60_000)).toBe(0);
    failures.failed('10.0.0.1', 60_000);
    expect(failures.blockedFor('10.0.0.1', 60_001)).toBe(9_999);
  });

  it('forgets the address failing longest ago past its bound', () => {
    const failures = new LoginFailures(1, 60_000, 2);
    failures.failed('a', 0);
    failures.failed('b', 1);
    failures.failed('c', 2);
    expect(failures.blockedFor('a', 3)).toBe(0);
    expect(failures.blockedFor('c', 3)).toBeGreaterThan(0);
  });
});
