import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
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

  it('proves each password afresh when sessions share the salt (the derived keys are kept per password and salt)', () => {
    const serverFirst = 'r=abc123,s=c2FsdHNhbHQ=,i=4096';
    const proofOf = (password: string) =>
      new ScramSha256Client(password, 'abc').clientFinalMessage(Buffer.from(serverFirst)).toString();
    // RFC 5802 computed here without the client: what a target holding this password checks.
    const expected = (password: string) => {
      const salted = pbkdf2Sync(password, Buffer.from('c2FsdHNhbHQ=', 'base64'), 4096, 32, 'sha256');
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      const stored = createHash('sha256').update(clientKey).digest();
      const signature = createHmac('sha256', stored)
        .update(`n=,r=abc,${serverFirst},c=biws,r=abc123`)
        .digest();
      return `c=biws,r=abc123,p=${Buffer.from(clientKey.map((b, i) => b ^ (signature[i] as number))).toString('base64')}`;
    };
    expect(proofOf('pencil')).toBe(expected('pencil'));
    expect(proofOf('pencil')).toBe(expected('pencil'));
    // Another password with the same salt and iterations derives keys of its own.
    expect(proofOf('eraser')).toBe(expected('eraser'));
    expect(proofOf('eraser')).not.toBe(expected('pencil'));
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
