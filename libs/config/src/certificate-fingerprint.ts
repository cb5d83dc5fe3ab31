import { z } from 'zod';

/** A SHA-256 certificate fingerprint, normalized: 64 lower-case hex digits, no separators. */
export type CertificateFingerprint = string & { readonly __brand: 'CertificateFingerprint' };

const PREFIX = /^(?:sha256:|sha-256:|sha256 fingerprint=)/i;
const PLAIN = /^[0-9a-f]{64}$/i;
const COLONS = /^[0-9a-f]{2}(?::[0-9a-f]{2}){31}$/i;

/**
 * Parses a pinned certificate fingerprint as people copy it: `sha256:` followed by the 32 bytes in
 * hex, either with colons between the bytes (as `openssl x509 -noout -fingerprint -sha256` and
 * `tollgate start` print them) or as plain hex. The prefix may be left out, or copied as openssl
 * prints it (`sha256 Fingerprint=`). Undefined when the text is not such a fingerprint.
 */
export function parseCertificateFingerprint(text: string): CertificateFingerprint | undefined {
  const hex = text.trim().replace(PREFIX, '');
  if (!PLAIN.test(hex) && !COLONS.test(hex)) return undefined;
  return hex.replaceAll(':', '').toLowerCase() as CertificateFingerprint;
}

/** The setting's schema: optional, and when given, a well-formed SHA-256 fingerprint. */
export const certificateFingerprint = z
  .string()
  .transform((value, context): CertificateFingerprint => {
    const parsed = parseCertificateFingerprint(value);
    if (!parsed) {
      context.addIssue({ code: 'custom', message: 'not a SHA-256 fingerprint' });
      return z.NEVER;
    }
    return parsed;
  })
  .optional();

export const CERTIFICATE_FINGERPRINT_EXPECTED =
  "the gateway certificate's SHA-256 fingerprint, sha256: and 64 hex digits (colons between the bytes allowed, as `openssl x509 -noout -fingerprint -sha256` prints them)";
