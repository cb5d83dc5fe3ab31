import { describe, expect, it } from 'vitest';
import { selfSignedRsa } from './self-signed';
import { parseIdpMetadata, SamlMetadataError } from './saml-idp-metadata';

const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';
const body = (pem: string) => pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
const key = (cert: string, use?: string) =>
  `<md:KeyDescriptor${use ? ` use="${use}"` : ''}><ds:KeyInfo xmlns:ds="${DS}"><ds:X509Data><ds:X509Certificate>${body(cert)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`;
const entity = (inner: string, id = 'https://idp.example/entity') =>
  `<md:EntityDescriptor xmlns:md="${MD}" entityID="${id}"><md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${inner}</md:IDPSSODescriptor></md:EntityDescriptor>`;
const sso = (binding: string, location = 'https://idp.example/sso') =>
  `<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${location}"/>`;

describe('parseIdpMetadata', () => {
  it('reads the entity ID, the HTTP-Redirect SSO URL and every signing certificate (two during a rotation)', async () => {
    const [one, two, enc] = await Promise.all([
      selfSignedRsa('one'),
      selfSignedRsa('two'),
      selfSignedRsa('enc'),
    ]);
    const metadata = parseIdpMetadata(
      `<md:EntitiesDescriptor xmlns:md="${MD}">${entity(
        key(one.cert, 'signing') +
          key(two.cert) +
          key(enc.cert, 'encryption') +
          sso('HTTP-POST', 'https://idp.example/post') +
          sso('HTTP-Redirect'),
      )}</md:EntitiesDescriptor>`,
    );
    expect(metadata).toMatchObject({
      entityId: 'https://idp.example/entity',
      ssoRedirectUrl: 'https://idp.example/sso',
      wantAuthnRequestsSigned: true,
    });
    expect(metadata.signingCerts.map(body)).toEqual([body(one.cert), body(two.cert)]);
  });

  it.each([
    [
      'SP metadata',
      `<md:EntityDescriptor xmlns:md="${MD}" entityID="x"><md:SPSSODescriptor/></md:EntityDescriptor>`,
      /no EntityDescriptor with an IDPSSODescriptor/,
    ],
    [
      'no redirect binding',
      entity(sso('HTTP-POST')),
      /no SingleSignOnService with the HTTP-Redirect binding/,
    ],
    ['no certificate', entity(sso('HTTP-Redirect')), /no signing certificate/],
    [
      'a broken certificate',
      entity(sso('HTTP-Redirect') + key('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')),
      /does not parse/,
    ],
    ['a DTD', `<!DOCTYPE x>${entity(sso('HTTP-Redirect'))}`, /document type declaration/],
    ['not XML', 'hello', /not well-formed/],
  ])('refuses %s, saying why', (_name, xml, message) => {
    expect(() => parseIdpMetadata(xml)).toThrow(SamlMetadataError);
    expect(() => parseIdpMetadata(xml)).toThrow(message);
  });
});
