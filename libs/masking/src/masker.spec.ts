import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { luhnValid } from './checksums';
import { Masker } from './masker';
import { BUILTIN_DETECTOR_NAMES } from './detectors';

const all = Masker.compile([
  { detectors: BUILTIN_DETECTOR_NAMES.map((name) => ({ kind: 'builtin' as const, name })), columns: [] },
]);
const mask = (text: string) => all.maskContent(text, 'text');

describe('content detectors', () => {
  it.each([
    ['contact alice.smith+x@example.co.uk now', 'contact a***@***.uk now', 'email'],
    ['card 4111 1111 1111 1111 ok', 'card **** **** **** 1111 ok', 'credit_card'],
    ['4111-1111-1111-1111', '****-****-****-1111', 'credit_card'],
    ['ssn 123-45-6789', 'ssn ***-**-6789', 'ssn'],
    ['area 9xx 912-34-5678', 'area 9xx ***-**-5678', 'ssn'],
    ['area 000 000-12-3456', 'area 000 ***-**-3456', 'ssn'],
    ['mail to root@localhost now', 'mail to r***@*** now', 'email'],
    ['literal x@[10.0.0.1]', 'literal x***@***', 'email'],
    ['ünïcode josé@exämple.es', 'ünïcode j***@***.es', 'email'],
    ['in json {"e":"a.b@c.io"}', 'in json {"e":"a***@***.io"}', 'email'],
    ['13 digits 4222222222222', '13 digits *********2222', 'credit_card'],
    ['19 digits 6011000990139424009', '19 digits ***************4009', 'credit_card'],
    ['IBAN GB82WEST12345698765432', 'IBAN GB****************5432', 'iban'],
    ['call +44 20 7946 0958', 'call +** ** **** **58', 'phone'],
    ['US (415) 555-0132', 'US (***) ***-**32', 'phone'],
    ['from 192.168.10.7:5432', 'from 0.0.0.0:5432', 'ip_address'],
    ['v6 2001:db8::8a2e:370:7334 end', 'v6 :: end', 'ip_address'],
  ])('%s', (input, expected, reason) => {
    const outcome = mask(input);
    expect(outcome.value).toBe(expected);
    expect(outcome.reasons).toContain(reason);
  });

  it.each([
    ['an order number failing Luhn', '4111 1111 1111 1112'],
    ['an IBAN with a bad checksum', 'GB83WEST12345698765432'],
    ['an out-of-range IPv4', '300.1.2.3'],
    ['a version number', 'v1.2.3'],
    ['a plain integer', '12345'],
    ['a date', '2026-11-25'],
    ['a timestamp', '2026-11-25 17:28:09'],
  ])('leaves %s alone', (_what, input) => {
    expect(mask(input)).toEqual({ value: input, reasons: [] });
  });

  it('masks every Luhn-valid 16-digit number and no Luhn-invalid one', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[1-9]\d{15}$/), (digits) => {
        const masked = mask(`n=${digits}.`).value as string;
        return luhnValid(digits)
          ? masked === `n=${'*'.repeat(12)}${digits.slice(-4)}.`
          : masked === `n=${digits}.`;
      }),
      { numRuns: 500 },
    );
  });

  it('masks inside a 64 MiB value in linear time (detectors run around their anchors)', () => {
    const value = 'x'.repeat(64 * 1024 * 1024) + ' write to ada@example.com today';
    const outcome = mask(value);
    expect(outcome.reasons).toEqual(['email']);
    expect((outcome.value as string).slice(-28)).toBe(' write to a***@***.com today');
  });

  it('keeps numeric values numeric', () => {
    expect(all.maskContent('4111111111111111', 'number')).toEqual({
      value: '0000000000001111',
      reasons: ['credit_card'],
    });
  });

  it('applies custom detectors from policy', () => {
    const masker = Masker.compile([
      { detectors: [{ kind: 'custom', name: 'api-key', pattern: 'sk_live_[A-Za-z0-9]+' }], columns: [] },
    ]);
    expect(masker.maskContent('key=sk_live_abc123', 'text')).toEqual({
      value: 'key=**************',
      reasons: ['api-key'],
    });
  });
});

describe('column rules', () => {
  const masker = Masker.compile([
    { detectors: [], columns: ['users.ssn', '*.password_hash', 'billing.cards.*'] },
  ]);

  it('matches table.column and schema.table.column globs', () => {
    expect(masker.isMaskedColumn({ table: 'users', column: 'ssn' })).toBe(true);
    expect(masker.isMaskedColumn({ table: 'USERS', column: 'SSN' })).toBe(true);
    expect(masker.isMaskedColumn({ table: 'accounts', column: 'password_hash' })).toBe(true);
    expect(masker.isMaskedColumn({ schema: 'billing', table: 'cards', column: 'pan' })).toBe(true);
    expect(masker.isMaskedColumn({ schema: 'public', table: 'cards', column: 'pan' })).toBe(false);
    expect(masker.isMaskedColumn({ table: 'users', column: 'email' })).toBe(false);
    expect(masker.isMaskedColumn({ column: 'ssn' })).toBe(false);
  });

  it('replaces whole values with something the column type accepts', () => {
    expect(masker.maskColumnValue('123-45-6789', 'text').value).toBe('********');
    expect(masker.maskColumnValue('42', 'number').value).toBe('0');
    expect(masker.maskColumnValue('2026-01-01', 'opaque').value).toBeNull();
  });

  it('is inactive without rules', () => {
    expect(Masker.none.active).toBe(false);
    expect(masker.active).toBe(true);
  });
});
