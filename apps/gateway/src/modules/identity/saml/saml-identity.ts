import type { IdpIdentity } from '../subjects/sync-user.usecase';
import type { SamlAssertion } from './saml-assertion';
import { SamlRefusal } from './saml-refusal';

export interface SamlAttributeNames {
  readonly groups: string;
  readonly email?: string;
  readonly displayName?: string;
}

const TRANSIENT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient';
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

/** Where Okta, Entra ID, Keycloak, ADFS and Google usually put these, when no setting names them. */
const EMAIL_ATTRIBUTES = [
  'email',
  'mail',
  'emailAddress',
  'urn:oid:0.9.2342.19200300.100.1.3',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
];
const DISPLAY_NAME_ATTRIBUTES = [
  'displayName',
  'name',
  'urn:oid:2.16.840.1.113730.3.1.241',
  'http://schemas.microsoft.com/identity/claims/displayname',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
];

/**
 * The person a verified assertion names: the NameID is the subject (users are keyed by IdP entity ID
 * and NameID), groups come from the configured attribute, each value one group (names with spaces,
 * such as AD groups, stay whole).
 */
export function identityFromAssertion(
  assertion: SamlAssertion,
  idpEntityId: string,
  names: SamlAttributeNames,
): IdpIdentity {
  const subject = assertion.nameId;
  if (!subject) throw new SamlRefusal('subject', 'the assertion names no subject (NameID)');
  if (assertion.nameIdFormat === TRANSIENT) {
    throw new SamlRefusal(
      'subject',
      'the identity provider sent a transient NameID, which changes at every login; configure a persistent, e-mail or unspecified NameID for Tollgate',
    );
  }
  const first = (candidates: readonly string[]) => {
    for (const name of candidates) {
      const value = assertion.attributes[name]?.[0];
      if (value) return value;
    }
    return undefined;
  };
  const email =
    first(names.email ? [names.email] : EMAIL_ATTRIBUTES) ??
    (assertion.nameIdFormat === EMAIL_FORMAT ? subject : undefined);
  return {
    issuer: idpEntityId,
    subject,
    email,
    displayName: first(names.displayName ? [names.displayName] : DISPLAY_NAME_ATTRIBUTES),
    groups: [...new Set(assertion.attributes[names.groups] ?? [])],
  };
}
