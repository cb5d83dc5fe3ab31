import { isIPv6 } from 'node:net';
import { ibanValid, luhnValid } from './checksums';

export const BUILTIN_DETECTOR_NAMES = ['email', 'phone', 'credit_card', 'ssn', 'iban', 'ip_address'] as const;
export type BuiltinDetectorName = (typeof BUILTIN_DETECTOR_NAMES)[number];

/**
 * A content detector: a pattern that finds candidates, a validator that rejects look-alikes (a
 * 16-digit order number that fails Luhn is not a card), and a replacement that hides the value.
 */
export interface ContentDetector {
  readonly name: string;
  readonly pattern: RegExp;
  /**
   * A character every match contains. In long values the pattern runs only in windows around its
   * occurrences: an unbounded pattern scanning a 64 MiB value from every position would take hours.
   */
  readonly anchor?: string;
  readonly accept?: (candidate: string) => boolean;
  readonly replace: (candidate: string) => string;
}

const keepLast = (candidate: string, visible: number): string => {
  let seen = 0;
  const out = [...candidate];
  for (let i = out.length - 1; i >= 0; i--) {
    if (!/\d/.test(out[i] as string)) continue;
    if (seen++ >= visible) out[i] = '*';
  }
  return out.join('');
};

export const BUILTIN_DETECTORS: Record<BuiltinDetectorName, ContentDetector> = {
  email: {
    name: 'email',
    anchor: '@',
    // Any address, valid or not: a local part of letters, digits and RFC 5322's atom characters
    // (braces and bar left out, so array and JSON punctuation stays), any domain (TLD or not, any
    // script) or an address literal. Erring toward masking.
    pattern:
      /[\p{L}\p{N}.!#$%&'*+/=?^_`~-]+@(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)*|\[[^\]\s]+\])/gu,
    replace: (email) => {
      const dot = email.lastIndexOf('.');
      const tld = dot > email.lastIndexOf('@') && !email.endsWith(']') ? email.slice(dot) : '';
      return `${[...email][0] ?? ''}***@***${tld}`;
    },
  },
  credit_card: {
    name: 'credit_card',
    pattern: /(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g,
    accept: (candidate) => luhnValid(candidate.replace(/[ -]/g, '')),
    replace: (candidate) => keepLast(candidate, 4),
  },
  ssn: {
    name: 'ssn',
    // Every SSN-shaped value, including those the SSA never issues (area 000, 666, 9xx): a value
    // in that shape is masked whether or not it is a valid number.
    pattern: /(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)/g,
    replace: (candidate) => `***-**-${candidate.slice(-4)}`,
  },
  iban: {
    name: 'iban',
    pattern: /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g,
    accept: ibanValid,
    replace: (candidate) =>
      candidate.slice(0, 2) + candidate.slice(2, -4).replace(/[A-Z0-9]/g, '*') + candidate.slice(-4),
  },
  ip_address: {
    name: 'ip_address',
    pattern:
      /(?<![\w.:])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])|(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])/g,
    accept: (candidate) => candidate.includes('.') || isIPv6(candidate),
    // A valid address of the same family, so inet/cidr columns and clients still parse it.
    replace: (candidate) => (candidate.includes(':') ? '::' : '0.0.0.0'),
  },
  phone: {
    name: 'phone',
    // International numbers (+CC ...) and North American 3-3-4 numbers. Bare digit runs, dates and
    // SSN-shaped values are left alone (other detectors decide those).
    pattern:
      /(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{1,4}){1,5}|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?!\w)/g,
    accept: (candidate) => {
      const digits = candidate.replace(/\D/g, '').length;
      return digits >= 8 && digits <= 15;
    },
    replace: (candidate) => keepLast(candidate, 2),
  },
};

/** A policy's custom detector: every match is replaced by asterisks of the same length. */
export function customDetector(name: string, pattern: string): ContentDetector {
  return {
    name,
    pattern: new RegExp(pattern, 'gu'),
    replace: (candidate) => '*'.repeat([...candidate].length),
  };
}
