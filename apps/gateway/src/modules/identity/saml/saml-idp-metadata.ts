import { X509Certificate } from 'node:crypto';
import { attributeOf, childElement, childElements, DS_NS, MD_NS, parseStrictXml, textOf } from './saml-xml';

export const HTTP_REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
export const HTTP_POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/** What the gateway needs from the identity provider's metadata. */
export interface SamlIdpMetadata {
  readonly entityId: string;
  /** SingleSignOnService with the HTTP-Redirect binding: where AuthnRequests go. */
  readonly ssoRedirectUrl: string;
  /** PEM certificates of the KeyDescriptors usable for signing (use="signing" or no use). */
  readonly signingCerts: readonly string[];
  readonly wantAuthnRequestsSigned: boolean;
}

/** Metadata that cannot be used; the message says what is missing. */
export class SamlMetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamlMetadataError';
  }
}

/**
 * Reads an IdP's SAML metadata (an EntityDescriptor, or the first one with an IDPSSODescriptor in an
 * EntitiesDescriptor). Certificates must parse; the document is parsed strictly (no DTD).
 */
export function parseIdpMetadata(xml: string): SamlIdpMetadata {
  let doc;
  try {
    doc = parseStrictXml(xml, 'metadata');
  } catch (error) {
    throw new SamlMetadataError(error instanceof Error ? error.message : String(error));
  }
  const root = doc.documentElement;
  const entities =
    root.namespaceURI === MD_NS && root.localName === 'EntityDescriptor'
      ? [root]
      : root.namespaceURI === MD_NS && root.localName === 'EntitiesDescriptor'
        ? childElements(root, MD_NS, 'EntityDescriptor')
        : [];
  const entity = entities.find((e) => childElement(e, MD_NS, 'IDPSSODescriptor'));
  if (!entity)
    throw new SamlMetadataError('no EntityDescriptor with an IDPSSODescriptor (is this IdP metadata?)');
  const entityId = attributeOf(entity, 'entityID');
  if (!entityId) throw new SamlMetadataError('the EntityDescriptor has no entityID');
  const idp = childElement(entity, MD_NS, 'IDPSSODescriptor')!;
  const redirect = childElements(idp, MD_NS, 'SingleSignOnService').find(
    (s) => attributeOf(s, 'Binding') === HTTP_REDIRECT_BINDING,
  );
  const ssoRedirectUrl = attributeOf(redirect, 'Location');
  if (!ssoRedirectUrl || !/^https?:\/\//.test(ssoRedirectUrl)) {
    throw new SamlMetadataError(
      'no SingleSignOnService with the HTTP-Redirect binding and an http(s) Location',
    );
  }
  const signingCerts: string[] = [];
  for (const descriptor of childElements(idp, MD_NS, 'KeyDescriptor')) {
    const use = attributeOf(descriptor, 'use');
    if (use !== undefined && use !== 'signing') continue;
    const keyInfo = childElement(descriptor, DS_NS, 'KeyInfo');
    for (const data of keyInfo ? childElements(keyInfo, DS_NS, 'X509Data') : []) {
      for (const cert of childElements(data, DS_NS, 'X509Certificate')) {
        signingCerts.push(certificatePem(textOf(cert) ?? ''));
      }
    }
  }
  if (signingCerts.length === 0)
    throw new SamlMetadataError('no signing certificate (KeyDescriptor) in the IDPSSODescriptor');
  return {
    entityId,
    ssoRedirectUrl,
    signingCerts,
    wantAuthnRequestsSigned: attributeOf(idp, 'WantAuthnRequestsSigned') === 'true',
  };
}

/** A base64 DER certificate as PEM, checked to be a certificate. */
export function certificatePem(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw new SamlMetadataError('a signing certificate in the metadata does not parse');
  }
  return pem;
}
