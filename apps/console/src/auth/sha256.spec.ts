import { describe, expect, it } from 'vitest';
import { base64Url, pkceChallenge } from './pkce';
import { sha256 } from './sha256';

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');

describe('the console SHA-256 fallback (PKCE outside secure contexts)', () => {
  it('matches Web Crypto for every length around the block and padding boundaries', async () => {
    for (let length = 0; length <= 200; length++) {
      const data = crypto.getRandomValues(new Uint8Array(length));
      const expected = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
      expect(hex(sha256(data))).toBe(hex(expected));
    }
  });

  it('gives the RFC 7636 appendix B challenge', async () => {
    expect(await pkceChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
    expect(base64Url(sha256(new TextEncoder().encode('abc')))).toBe(
      'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0',
    );
  });
});
