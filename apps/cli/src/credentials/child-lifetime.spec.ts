import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkChildLifetime } from './child-lifetime';

const NOW = 1_800_000_000;

describe('checkChildLifetime (token exchange --expires-in, before anything is sent)', () => {
  it('accepts any lifetime within the parent token and refuses every one beyond it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        (asked, left) => {
          const check = () => checkChildLifetime(String(asked), NOW + left, NOW);
          if (asked <= left) expect(check()).toBe(asked);
          else expect(check).toThrow(`--expires-in ${asked} is beyond the current token's expiry`);
        },
      ),
    );
  });

  it('says how much is left and when the parent ends', () => {
    expect(() => checkChildLifetime('7200', NOW + 900, NOW)).toThrow(
      "--expires-in 7200 is beyond the current token's expiry (2027-01-15T08:15:00.000Z, 900 s from now): " +
        'a child token never outlives its parent; ask for at most 900 seconds',
    );
  });

  it('refuses malformed lifetimes whatever the parent', () => {
    for (const bad of ['', '0', '-5', '1.5', '1e3', ' 60', '60s', '0x10', '1234567890']) {
      expect(() => checkChildLifetime(bad, undefined, NOW)).toThrow(
        '--expires-in must be a positive whole number of seconds',
      );
    }
  });

  it('refuses to delegate from an expired parent', () => {
    expect(() => checkChildLifetime('10', NOW - 1, NOW)).toThrow(/the current token expired at/);
  });

  it('leaves the lifetime of a token without exp (an API key) to the gateway', () => {
    expect(checkChildLifetime('86400', undefined, NOW)).toBe(86400);
  });
});
