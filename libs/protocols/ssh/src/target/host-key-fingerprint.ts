import { createHash } from 'node:crypto';

/** `SHA256:` and 43 unpadded base64 characters, as `ssh-keygen -lf` and OpenSSH print them. */
export const FINGERPRINT_PATTERN = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** The OpenSSH fingerprint of a host key given as its wire blob (`ssh-ed25519 AAAA...` decoded). */
export function hostKeyFingerprint(keyBlob: Uint8Array): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/**
 * A fingerprint as an operator may paste it: OpenSSH's form, optionally with base64 padding.
 * Returns the canonical form, or undefined when it is not a SHA256 fingerprint.
 */
export function normalizeFingerprint(text: string): string | undefined {
  const trimmed = text.trim().replace(/=+$/, '');
  return FINGERPRINT_PATTERN.test(trimmed) ? trimmed : undefined;
}
