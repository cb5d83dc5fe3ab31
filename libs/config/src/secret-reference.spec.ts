import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSecretReference, SecretReferenceError } from './secret-reference';

describe('resolveSecretReference', () => {
  it('reads env: references from the environment', () => {
    expect(resolveSecretReference('env:PG_PASSWORD', { PG_PASSWORD: 's3cret' })).toBe('s3cret');
  });

  it('reads file: references, dropping one trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'secret-'));
    try {
      writeFileSync(join(dir, 'pg'), 'from-file\n');
      expect(resolveSecretReference(`file:${join(dir, 'pg')}`, {})).toBe('from-file');
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('names the reference when it cannot be resolved, never a value', () => {
    expect(() => resolveSecretReference('env:MISSING', {})).toThrow(
      new SecretReferenceError(
        'credential env:MISSING: environment variable MISSING is not set on the agent',
      ),
    );
    expect(() => resolveSecretReference('file:/nonexistent/secret', {})).toThrow(
      /cannot read \/nonexistent\/secret on the agent \(ENOENT\)/,
    );
    expect(() => resolveSecretReference('vault:x', {})).toThrow(/neither env:NAME nor file:\/path/);
  });
});
