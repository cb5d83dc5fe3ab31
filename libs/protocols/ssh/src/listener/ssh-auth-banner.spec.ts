import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { SSH2_VERSION_FOR_BANNER } from './ssh-auth-banner';

describe('sendAuthBanner', () => {
  it('is written against the installed ssh2 (its private packet writer)', () => {
    const requireHere = createRequire(__filename);
    const manifest = JSON.parse(readFileSync(requireHere.resolve('ssh2/package.json'), 'utf8')) as {
      version: string;
    };
    expect(manifest.version).toBe(SSH2_VERSION_FOR_BANNER);
  });
});
