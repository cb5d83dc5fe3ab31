import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isLoopbackAddress } from './loopback-address';

describe('isLoopbackAddress', () => {
  it('knows the loopback forms a socket reports', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
      expect(isLoopbackAddress(address)).toBe(true);
    }
  });

  it('refuses every other address, malformed text and no address (property)', () => {
    for (const address of [
      undefined,
      '',
      '0.0.0.0',
      '::',
      '::ffff:10.0.0.1',
      '128.0.0.1',
      '127.0.0.1.evil',
      '::2',
      'localhost',
    ]) {
      expect(isLoopbackAddress(address)).toBe(false);
    }
    fc.assert(
      fc.property(fc.ipV4(), (ip) => {
        expect(isLoopbackAddress(ip)).toBe(ip.startsWith('127.'));
        expect(isLoopbackAddress(`::ffff:${ip}`)).toBe(ip.startsWith('127.'));
      }),
      { numRuns: 2000 },
    );
    // Node reports IPv6 peers in canonical form; any other spelling of ::1 fails closed (TLS required).
    fc.assert(
      fc.property(fc.ipV6(), (ip) => {
        const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
        expect(isLoopbackAddress(ip)).toBe(ip === '::1' || (mapped !== null && mapped[1].startsWith('127.')));
      }),
      { numRuns: 2000 },
    );
  });
});
