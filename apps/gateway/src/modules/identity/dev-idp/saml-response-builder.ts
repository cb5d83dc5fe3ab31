import { randomUUID } from 'node:crypto';
import {
  IdentityProvider,
  SamlLib,
  ServiceProvider,
  setSchemaValidator,
  type IdentityProviderInstance,
  type ServiceProviderInstance,
} from 'samlify';
import { escapeHtml } from '../http/identity-pages';
import type { PemKeyPair } from '../saml/self-signed';
import { HTTP_REDIRECT_BINDING } from '../saml/saml-idp-metadata';
import { parseStrictXml } from '../saml/saml-xml';

/** The values of samlify's login response template, each of which a test may set. */
export interface ResponseValues {
  ID: string;
  AssertionID: string;
  Destination: string;
  Audience: string;
  SubjectRecipient: string;
  Issuer: string;
  IssueInstant: string;
  ConditionsNotBefore: string;
  ConditionsNotOnOrAfter: string;
  SubjectConfirmationDataNotOnOrAfter: string;
  NameIDFormat: string;
  NameID: string;
  InResponseTo: string;
  StatusCode: string;
}

export interface SamlUser {
  readonly nameId: string;
  readonly email: string;
  readonly name: string;
  readonly groups: readonly string[];
}

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';
const BASIC = 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';

// samlify validates inbound messages only through a validator it is given. Ours parses strictly
// (no DTD, well-formed) and checks the message kind; the dev IdP only ever reads AuthnRequests.
setSchemaValidator({
  validate: async (xml: string) => {
    const root = parseStrictXml(xml, 'SAML request').documentElement;
    if (root?.localName !== 'AuthnRequest') throw new Error('not an AuthnRequest');
    return 'valid';
  },
});

/**
 * The development IdP's side of SAML (samlify): its entity, the gateway as it sees it (from the
 * gateway's SP metadata), and login responses signed (assertion and response) and, when the SP
 * publishes an encryption certificate, encrypted. Tests build responses through it too, with any
 * template value changed, to attack the gateway with otherwise genuine messages.
 */
export class SamlIdpEntity {
  readonly idp: IdentityProviderInstance;

  constructor(
    readonly entityId: string,
    readonly ssoUrl: string,
    readonly keys: PemKeyPair,
    options: { encrypt?: boolean } = {},
  ) {
    this.idp = IdentityProvider({
      entityID: entityId,
      privateKey: keys.key,
      signingCert: keys.cert,
      nameIDFormat: [EMAIL_FORMAT],
      singleSignOnService: [{ Binding: HTTP_REDIRECT_BINDING, Location: ssoUrl }],
      singleLogoutService: [{ Binding: HTTP_REDIRECT_BINDING, Location: ssoUrl.replace(/sso$/, 'slo') }],
      isAssertionEncrypted: options.encrypt ?? false,
    });
  }

  metadataXml(): string {
    return this.idp.getMetadata();
  }

  /** The SP as this IdP sees it; `wantMessageSigned` signs the Response as well as the Assertion. */
  static serviceProvider(spMetadataXml: string): ServiceProviderInstance {
    return ServiceProvider({ metadata: spMetadataXml, wantMessageSigned: true });
  }

  /** A base64 SAMLResponse for `user`; `values` replaces any template value (tests forge with it). */
  async response(
    sp: ServiceProviderInstance,
    user: SamlUser,
    values: Partial<ResponseValues> = {},
  ): Promise<string> {
    const now = new Date();
    const later = new Date(now.getTime() + 5 * 60_000);
    const acs = sp.entityMeta.getAssertionConsumerService('post') as string;
    const all: ResponseValues = {
      ID: `_${randomUUID()}`,
      AssertionID: `_${randomUUID()}`,
      Destination: acs,
      Audience: sp.entityMeta.getEntityID(),
      SubjectRecipient: acs,
      Issuer: this.entityId,
      IssueInstant: now.toISOString(),
      ConditionsNotBefore: now.toISOString(),
      ConditionsNotOnOrAfter: later.toISOString(),
      SubjectConfirmationDataNotOnOrAfter: later.toISOString(),
      NameIDFormat: EMAIL_FORMAT,
      NameID: user.nameId,
      InResponseTo: '',
      StatusCode: SUCCESS,
      ...values,
    };
    const attribute = (name: string, vals: readonly string[]) =>
      `<saml:Attribute Name="${name}" NameFormat="${BASIC}">${vals
        .map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeHtml(v)}</saml:AttributeValue>`)
        .join('')}</saml:Attribute>`;
    const result = await this.idp.createLoginResponse(
      sp,
      { extract: {} },
      'post',
      {},
      {
        customTagReplacement: (template: string) => {
          // samlify escapes each value; a null drops the attribute (an unsolicited response carries
          // no InResponseTo at all). The two statements are XML of our own, put in afterwards.
          const xml = SamlLib.replaceTagsByValue(template, {
            ...all,
            InResponseTo: all.InResponseTo === '' ? null : all.InResponseTo,
            AuthnStatement: '{AuthnStatement}',
            AttributeStatement: '{AttributeStatement}',
          })
            .replace(
              '{AuthnStatement}',
              `<saml:AuthnStatement AuthnInstant="${escapeHtml(all.IssueInstant)}" SessionIndex="${escapeHtml(all.AssertionID)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>`,
            )
            .replace(
              '{AttributeStatement}',
              `<saml:AttributeStatement>${attribute('email', [user.email])}${attribute('displayName', [user.name])}${attribute('groups', user.groups)}</saml:AttributeStatement>`,
            );
          return { id: all.ID, context: xml };
        },
        encryptThenSign: true,
      },
    );
    return result.context;
  }
}
