import { describe, expect, it } from 'vitest';
import { md5PasswordResponse } from './md5-password';
import { ScramError, ScramSha256Client } from './scram-sha256.client';

describe('ScramSha256Client', () => {
  // RFC 7677 §3 test vector (user "user", password "pencil"); PostgreSQL sends an empty user name,
  // so the vector is replayed with the bare message adjusted accordingly.
  it('computes the proof and verifies the server signature of a real exchange', () => {
    const client = new ScramSha256Client('pencil', 'rOprNGfwEbeRWgbNEkqO');
    expect(client.clientFirstMessage().toString()).toBe('n,,n=,r=rOprNGfwEbeRWgbNEkqO');
    const serverFirst = Buffer.from(
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    const final = client.clientFinalMessage(serverFirst).toString();
    expect(final).toMatch(
      /^c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj\)hNlF\$k0,p=[A-Za-z0-9+/]{43}=$/,
    );
    expect(() => client.verifyServerFinal(Buffer.from('v=AAAA'))).toThrow(ScramError);
  });

  it('refuses a server nonce that does not extend its own', () => {
    const client = new ScramSha256Client('pw', 'abc');
    expect(() => client.clientFinalMessage(Buffer.from('r=xyz123,s=c2FsdA==,i=4096'))).toThrow(/nonce/);
  });

  it('reports a server-side error attribute', () => {
    const client = new ScramSha256Client('pw', 'abc');
    client.clientFinalMessage(Buffer.from('r=abcdef,s=c2FsdA==,i=10'));
    expect(() => client.verifyServerFinal(Buffer.from('e=invalid-proof'))).toThrow(/invalid-proof/);
  });
});

describe('md5PasswordResponse', () => {
  it('matches what libpq sends', () => {
    // md5(md5("secret" + "alice") + salt), computed independently with `openssl md5`.
    expect(md5PasswordResponse('alice', 'secret', Buffer.from([1, 2, 3, 4]))).toBe(
      'md598a0412b9c31436fc53776e863350083',
    );
  });
});
