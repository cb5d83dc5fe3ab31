import { TlsMode } from '@tollgate/proto';
import { describe, expect, it } from 'vitest';
import { targetCa, targetTlsMode } from './target-settings';
import { TargetUnreachableError } from './target-unreachable.error';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const secrets: Record<string, string> = { 'file:/etc/tollgate/ca.pem': 'ca from the agent' };
const resolve = (reference: string) => {
  const value = secrets[reference];
  if (value === undefined) throw new Error(`secret ${reference} is not readable`);
  return value;
};

describe('target TLS settings shared by the engines', () => {
  it('verifies with the CA registered inline on the connection (tls.ca), as the API stores it', () => {
    expect(targetCa({ caRef: '', caPem: PEM }, resolve)).toBe(PEM);
  });

  it('prefers a CA reference the agent resolves, and names the reference when it cannot', () => {
    expect(targetCa({ caRef: 'file:/etc/tollgate/ca.pem', caPem: PEM }, resolve)).toBe('ca from the agent');
    expect(() => targetCa({ caRef: 'file:/missing.pem', caPem: '' }, resolve)).toThrow(
      TargetUnreachableError,
    );
    expect(() => targetCa({ caRef: 'file:/missing.pem', caPem: '' }, resolve)).toThrow('file:/missing.pem');
  });

  it('leaves the system trust store when no CA is given', () => {
    expect(targetCa(undefined, resolve)).toBeUndefined();
    expect(targetCa({ caRef: '', caPem: '' }, resolve)).toBeUndefined();
  });

  it('reads an unset mode as verify-full', () => {
    expect(targetTlsMode(undefined)).toBe('verify-full');
    expect(targetTlsMode(TlsMode.UNSPECIFIED)).toBe('verify-full');
    expect(targetTlsMode(TlsMode.VERIFY_CA)).toBe('verify-ca');
  });
});
