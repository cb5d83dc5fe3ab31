import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTtl } from './credentials.command';

describe('parseTtl', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect(parseTtl('90')).toBe(90);
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('1h')).toBe(3600);
    expect(parseTtl('30d')).toBe(30 * 86_400);
  });

  it('refuses nothing, zero, more than 30 days and anything else, naming --ttl', () => {
    for (const text of ['', '0', '0h', '31d', '1.5h', '-1h', '1w', 'h', '1 h 2m', '1e3']) {
      expect(() => parseTtl(text), text).toThrow(/--ttl: expected a duration/);
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        let seconds: number | undefined;
        try {
          seconds = parseTtl(text);
        } catch {
          return;
        }
        expect(Number.isInteger(seconds) && seconds >= 1 && seconds <= 30 * 86_400).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
