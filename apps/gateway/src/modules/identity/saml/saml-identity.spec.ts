import { describe, expect, it } from 'vitest';
import type { SamlAssertion } from './saml-assertion';
import { identityFromAssertion } from './saml-identity';
import { SamlRefusal } from './saml-refusal';

const assertion = (over: Partial<SamlAssertion>): SamlAssertion => ({
  id: '_a',
  confirmations: [],
  audienceRestrictions: [],
  hasAuthnStatement: true,
  attributes: {},
  nameId: 'ada',
  ...over,
});

describe('identityFromAssertion', () => {
  it('keys the user by IdP and NameID, groups from the configured attribute, each value whole', () => {
    const identity = identityFromAssertion(
      assertion({
        nameId: '00u1abc',
        attributes: {
          memberOf: ['Domain Admins', 'dba', 'dba'],
          'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress': ['ada@example.com'],
          'http://schemas.microsoft.com/identity/claims/displayname': ['Ada Lovelace'],
        },
      }),
      'https://idp.example',
      { groups: 'memberOf' },
    );
    expect(identity).toEqual({
      issuer: 'https://idp.example',
      subject: '00u1abc',
      email: 'ada@example.com',
      displayName: 'Ada Lovelace',
      groups: ['Domain Admins', 'dba'],
    });
  });

  it('uses the named email and display-name attributes, and an e-mail NameID when no attribute has one', () => {
    const named = identityFromAssertion(
      assertion({ attributes: { mailbox: ['a@x.test'], cn: ['A'], email: ['ignored@x.test'] } }),
      'idp',
      { groups: 'groups', email: 'mailbox', displayName: 'cn' },
    );
    expect(named).toMatchObject({ email: 'a@x.test', displayName: 'A', groups: [] });
    const fromNameId = identityFromAssertion(
      assertion({
        nameId: 'b@x.test',
        nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      }),
      'idp',
      { groups: 'groups' },
    );
    expect(fromNameId.email).toBe('b@x.test');
  });

  it('refuses a transient NameID (a new user at every login) and a missing one', () => {
    const transient = () =>
      identityFromAssertion(
        assertion({ nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' }),
        'idp',
        { groups: 'groups' },
      );
    expect(transient).toThrow(SamlRefusal);
    expect(transient).toThrow(/transient NameID/);
    expect(() =>
      identityFromAssertion(assertion({ nameId: undefined }), 'idp', { groups: 'groups' }),
    ).toThrow(/names no subject/);
  });
});
