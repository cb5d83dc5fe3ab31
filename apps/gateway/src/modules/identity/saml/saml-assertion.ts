import { attributeOf, childElement, childElements, parseStrictXml, SAML_NS, textOf } from './saml-xml';
import { SamlRefusal } from './saml-refusal';

export interface SubjectConfirmation {
  readonly method?: string;
  readonly recipient?: string;
  readonly inResponseTo?: string;
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
}

/** An assertion as the signature covers it (read only from the signed, canonical XML). */
export interface SamlAssertion {
  readonly id: string;
  readonly issuer?: string;
  readonly issueInstant?: Date;
  readonly nameId?: string;
  readonly nameIdFormat?: string;
  readonly confirmations: readonly SubjectConfirmation[];
  readonly notBefore?: Date;
  readonly notOnOrAfter?: Date;
  /** One list per AudienceRestriction: each must name the SP. */
  readonly audienceRestrictions: readonly (readonly string[])[];
  readonly hasAuthnStatement: boolean;
  readonly sessionNotOnOrAfter?: Date;
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

export function readAssertion(xml: string): SamlAssertion {
  const doc = parseStrictXml(xml, 'signed assertion');
  const root = doc.documentElement;
  if (root.namespaceURI !== SAML_NS || root.localName !== 'Assertion') {
    throw new SamlRefusal('malformed', 'the signed content is not a SAML assertion');
  }
  const id = attributeOf(root, 'ID');
  if (!id) throw new SamlRefusal('malformed', 'the assertion has no ID');
  const subject = childElement(root, SAML_NS, 'Subject');
  const nameId = subject ? childElement(subject, SAML_NS, 'NameID') : undefined;
  const conditions = childElements(root, SAML_NS, 'Conditions');
  if (conditions.length > 1) throw new SamlRefusal('malformed', 'the assertion has more than one Conditions');
  const condition = conditions[0];
  const authn = childElements(root, SAML_NS, 'AuthnStatement');
  const attributes: Record<string, string[]> = {};
  for (const statement of childElements(root, SAML_NS, 'AttributeStatement')) {
    for (const attribute of childElements(statement, SAML_NS, 'Attribute')) {
      const name = attributeOf(attribute, 'Name');
      if (!name) continue;
      const values = childElements(attribute, SAML_NS, 'AttributeValue')
        .map((v) => textOf(v) ?? '')
        .filter((v) => v !== '');
      attributes[name] = [...(attributes[name] ?? []), ...values];
    }
  }
  return {
    id,
    issuer: textOf(childElement(root, SAML_NS, 'Issuer')),
    issueInstant: instant(attributeOf(root, 'IssueInstant'), 'IssueInstant'),
    nameId: textOf(nameId),
    nameIdFormat: attributeOf(nameId, 'Format'),
    confirmations: (subject ? childElements(subject, SAML_NS, 'SubjectConfirmation') : []).map((c) => {
      const data = childElement(c, SAML_NS, 'SubjectConfirmationData');
      return {
        method: attributeOf(c, 'Method'),
        recipient: attributeOf(data, 'Recipient'),
        inResponseTo: attributeOf(data, 'InResponseTo'),
        notBefore: instant(attributeOf(data, 'NotBefore'), 'NotBefore'),
        notOnOrAfter: instant(attributeOf(data, 'NotOnOrAfter'), 'NotOnOrAfter'),
      };
    }),
    notBefore: instant(attributeOf(condition, 'NotBefore'), 'NotBefore'),
    notOnOrAfter: instant(attributeOf(condition, 'NotOnOrAfter'), 'NotOnOrAfter'),
    audienceRestrictions: (condition ? childElements(condition, SAML_NS, 'AudienceRestriction') : []).map(
      (r) => childElements(r, SAML_NS, 'Audience').map((a) => textOf(a) ?? ''),
    ),
    hasAuthnStatement: authn.length > 0,
    sessionNotOnOrAfter: instant(attributeOf(authn[0], 'SessionNotOnOrAfter'), 'SessionNotOnOrAfter'),
    attributes,
  };
}

/** xs:dateTime as SAML uses it (UTC, "Z"); anything else is refused rather than guessed. */
function instant(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    throw new SamlRefusal('malformed', `the assertion's ${name} "${value}" is not an xs:dateTime`);
  }
  const date = new Date(value.replace(/(\.\d{3})\d+/, '$1'));
  if (Number.isNaN(date.getTime())) {
    throw new SamlRefusal('malformed', `the assertion's ${name} "${value}" is not a valid time`);
  }
  return date;
}
