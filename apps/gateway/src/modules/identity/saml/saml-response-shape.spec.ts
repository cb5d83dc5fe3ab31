import { describe, expect, it } from 'vitest';
import { SamlRefusal } from './saml-refusal';
import { checkResponseShape } from './saml-response-shape';

const P = 'urn:oasis:names:tc:SAML:2.0:protocol';
const A = 'urn:oasis:names:tc:SAML:2.0:assertion';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const SUCCESS =
  '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>';
const signature = (
  method = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  digest = 'http://www.w3.org/2001/04/xmlenc#sha256',
) =>
  `<ds:Signature xmlns:ds="${DS}"><ds:SignedInfo><ds:SignatureMethod Algorithm="${method}"/><ds:Reference URI="#a1"><ds:DigestMethod Algorithm="${digest}"/></ds:Reference></ds:SignedInfo></ds:Signature>`;
const assertion = (id = 'a1', inner = signature()) =>
  `<saml:Assertion xmlns:saml="${A}" ID="${id}"><saml:Issuer>idp</saml:Issuer>${inner}<saml:Subject><saml:NameID>ada@example.com</saml:NameID></saml:Subject></saml:Assertion>`;
const response = (body: string, status = SUCCESS, attrs = '') =>
  `<samlp:Response xmlns:samlp="${P}" ID="r1" Destination="https://gw/acs" InResponseTo="_req"${attrs}><saml:Issuer xmlns:saml="${A}">idp</saml:Issuer>${status}${body}</samlp:Response>`;
const b64 = (xml: string) => Buffer.from(xml).toString('base64');

const refusal = (xml: string): SamlRefusal => {
  try {
    checkResponseShape(b64(xml));
  } catch (error) {
    if (error instanceof SamlRefusal) return error;
    throw error;
  }
  throw new Error('accepted');
};

describe('checkResponseShape (before any cryptography)', () => {
  it('reads what a well-formed response claims', () => {
    expect(checkResponseShape(b64(response(assertion())))).toMatchObject({
      responseId: 'r1',
      destination: 'https://gw/acs',
      inResponseTo: '_req',
      issuer: 'idp',
      responseSigned: false,
      encrypted: false,
    });
  });

  it.each([
    ['not base64', '%%%', 'malformed', /not base64/],
    [
      'a DTD (entities, XXE)',
      b64(`<!DOCTYPE r [<!ENTITY x "y">]>${response(assertion())}`),
      'malformed',
      /document type declaration/,
    ],
    [
      'another root element',
      b64(`<samlp:AuthnRequest xmlns:samlp="${P}"/>`),
      'malformed',
      /not a SAML 2\.0 Response/,
    ],
    ['broken XML', b64('<samlp:Response xmlns:samlp="x">'), 'malformed', /not well-formed/],
  ])('refuses %s', (_name, input, check, message) => {
    let error: unknown;
    try {
      checkResponseShape(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SamlRefusal);
    expect((error as SamlRefusal).check).toBe(check);
    expect((error as SamlRefusal).message).toMatch(message);
  });

  it.each([
    [
      'a comment in the NameID',
      response(assertion().replace('ada@example.com', 'ada@example.com<!---->.evil')),
      'comment',
    ],
    ['a comment before the root', `<!-- hi -->${response(assertion())}`, 'comment'],
    ['a processing instruction', response(`<?evil x?>${assertion()}`), 'malformed'],
    ['no assertion', response(''), 'wrapping'],
    ['two assertions', response(assertion() + assertion('a2', '')), 'wrapping'],
    [
      'an assertion hidden in Extensions',
      response(`<samlp:Extensions>${assertion()}</samlp:Extensions>${assertion('a2', '')}`),
      'wrapping',
    ],
    [
      'an assertion in an assertion (Advice)',
      response(assertion('a1', `${signature()}<saml:Advice>${assertion('a2', '')}</saml:Advice>`)),
      'wrapping',
    ],
    ['a nested Response', response(`${assertion()}<samlp:Response ID="r2"/>`), 'wrapping'],
    ['a duplicated ID', response(assertion('r1')), 'wrapping'],
    [
      'a signature outside the Response and Assertion',
      response(`<samlp:Extensions>${signature()}</samlp:Extensions>${assertion()}`),
      'wrapping',
    ],
    [
      'RSA-SHA1',
      response(assertion('a1', signature('http://www.w3.org/2000/09/xmldsig#rsa-sha1'))),
      'algorithm',
    ],
    [
      'HMAC',
      response(assertion('a1', signature('http://www.w3.org/2000/09/xmldsig#hmac-sha1'))),
      'algorithm',
    ],
    [
      'a SHA-1 digest',
      response(assertion('a1', signature(undefined, 'http://www.w3.org/2000/09/xmldsig#sha1'))),
      'algorithm',
    ],
    [
      'RSA PKCS#1 v1.5 key transport',
      response(
        `<saml:EncryptedAssertion xmlns:saml="${A}"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-1_5"/></xenc:EncryptedData></saml:EncryptedAssertion>`,
      ),
      'algorithm',
    ],
    [
      'triple DES',
      response(
        `<saml:EncryptedAssertion xmlns:saml="${A}"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#tripledes-cbc"/></xenc:EncryptedData></saml:EncryptedAssertion>`,
      ),
      'algorithm',
    ],
  ])('refuses %s', (_name, xml, check) => {
    expect(refusal(xml).check).toBe(check);
  });

  it("passes on the IdP's own refusal with its status and message", () => {
    const failed = refusal(
      response(
        '',
        '<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></samlp:StatusCode><samlp:StatusMessage>User is not assigned to this application</samlp:StatusMessage></samlp:Status>',
      ),
    );
    expect(failed.check).toBe('status');
    expect(failed.message).toBe(
      'the identity provider did not sign you in (Responder: User is not assigned to this application)',
    );
  });
});
