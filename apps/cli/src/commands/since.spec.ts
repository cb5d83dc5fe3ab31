import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSince } from './since';

const NOW = Date.parse('2026-12-04T12:00:00.000Z');

describe('parseSince (--since)', () => {
  it('reads durations back from now', () => {
    expect(parseSince('10m', NOW)).toBe('2026-12-04T11:50:00.000Z');
    expect(parseSince('90s', NOW)).toBe('2026-12-04T11:58:30.000Z');
    expect(parseSince('2h', NOW)).toBe('2026-12-04T10:00:00.000Z');
    expect(parseSince('7d', NOW)).toBe('2026-11-27T12:00:00.000Z');
  });

  it('reads ISO 8601 times', () => {
    expect(parseSince('2026-12-01T00:00:00Z', NOW)).toBe('2026-12-01T00:00:00.000Z');
    expect(parseSince('2026-12-01', NOW)).toBe('2026-12-01T00:00:00.000Z');
  });

  it('never reads a time after now from a duration', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 999_999 }), fc.constantFrom('s', 'm', 'h', 'd'), (n, unit) => {
        expect(Date.parse(parseSince(`${n}${unit}`, NOW))).toBeLessThanOrEqual(NOW);
      }),
    );
  });

  it('refuses anything else, naming the option', () => {
    for (const bad of ['', '10', 'm', '-5m', '10 m', '10min', 'yesterday', '1e3s', '12:00']) {
      expect(() => parseSince(bad, NOW)).toThrow(/^--since: expected a duration back from now/);
    }
  });
});
