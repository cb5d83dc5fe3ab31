import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SealedSecretError, SecretBox } from './secret-box';

const key = () => randomBytes(32).toString('base64');

describe('SecretBox', () => {
  it('seals so that the stored value reveals nothing, and opens it again in the same context', () => {
    const box = SecretBox.from(key());
    const sealed = box.seal('{"d":"private-scalar"}', 'signing-key:k1');
    expect(SecretBox.isSealed(sealed)).toBe(true);
    expect(sealed).not.toContain('private-scalar');
    expect(box.seal('same', 'c')).not.toBe(box.seal('same', 'c')); // a fresh IV each time
    expect(box.open(sealed, 'signing-key:k1')).toBe('{"d":"private-scalar"}');
  });

  it('refuses a value moved to another context, altered, or sealed under another key', () => {
    const box = SecretBox.from(key());
    const sealed = box.seal('refresh-token', 'idp-refresh-token:family-a');
    expect(() => box.open(sealed, 'idp-refresh-token:family-b')).toThrow(/altered/);
    const parts = sealed.split('.');
    parts[3] = Buffer.from('tampered!').toString('base64url');
    expect(() => box.open(parts.join('.'), 'idp-refresh-token:family-a')).toThrow(SealedSecretError);
    expect(() => SecretBox.from(key()).open(sealed, 'idp-refresh-token:family-a')).toThrow(
      /sealed with another TOLLGATE_STORE_KEY/,
    );
    expect(() => SecretBox.from(undefined).open(sealed, 'idp-refresh-token:family-a')).toThrow(
      /set TOLLGATE_STORE_KEY to that key/,
    );
  });

  it('without a key stores values as they are, and reads values stored before a key was set', () => {
    expect(SecretBox.from(undefined).seal('plain', 'c')).toBe('plain');
    expect(SecretBox.from(undefined).sealing).toBe(false);
    expect(SecretBox.from(key()).open('stored-in-plain-text', 'c')).toBe('stored-in-plain-text');
  });

  it('accepts the key as hex too, and rejects what is not 32 bytes', () => {
    const hex = randomBytes(32).toString('hex');
    const box = SecretBox.from(hex);
    expect(box.open(box.seal('x', 'c'), 'c')).toBe('x');
    expect(() => SecretBox.from('too-short')).toThrow(/32 random bytes/);
  });
});
