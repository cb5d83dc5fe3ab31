import {
  allElements,
  attributeOf,
  childElement,
  hasCommentOrInstruction,
  parseStrictXml,
  textOf,
} from './saml-xml';
import { DS_NS, SAML_NS, SAMLP_NS, XENC_NS } from './saml-xml';
import { SamlRefusal } from './saml-refusal';

/** What the unverified response claims, read before any cryptography (none of it is trusted yet). */
export interface SamlResponseShape {
  readonly xml: string;
  readonly responseId: string;
  readonly inResponseTo?: string;
  readonly destination?: string;
  readonly issuer?: string;
  /** Whether the Response element itself carries a signature (it must then verify). */
  readonly responseSigned: boolean;
  readonly encrypted: boolean;
}

const MAX_RESPONSE_BYTES = 256 * 1024;
const SUCCESS = 'urn:oasis:names:tc:SAML:2.0:status:Success';

/** RSA with SHA-2 only: SHA-1 is collision-broken and HMAC would let a public key act as a secret. */
const SIGNATURE_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
]);
const DIGEST_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmlenc#sha256',
  'http://www.w3.org/2001/04/xmlenc#sha512',
]);
/** RSA-OAEP key transport only (PKCS#1 v1.5 is open to Bleichenbacher's attack); no 3DES. */
const ENCRYPTION_ALGORITHMS = new Set([
  'http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p',
  'http://www.w3.org/2009/xmlenc11#rsa-oaep',
  'http://www.w3.org/2001/04/xmlenc#aes128-cbc',
  'http://www.w3.org/2001/04/xmlenc#aes256-cbc',
  'http://www.w3.org/2009/xmlenc11#aes128-gcm',
  'http://www.w3.org/2009/xmlenc11#aes256-gcm',
]);

/**
 * The structural checks every SAML response passes before its signature is even looked at, so the
 * classic attacks fail for a reason of their own whatever the signature library does: exactly one
 * Response with exactly one (possibly encrypted) Assertion as its direct child and no other
 * assertion anywhere (signature wrapping, a second assertion smuggled in), unique IDs, signatures
 * only on the Response or the Assertion, no comments or processing instructions (comment injection
 * into NameID), no DTD, known-good algorithms only, and a Success status.
 */
export function checkResponseShape(samlResponse: string): SamlResponseShape {
  if (!/^[A-Za-z0-9+/\r\n]+={0,2}\s*$/.test(samlResponse)) {
    throw new SamlRefusal('malformed', 'the SAMLResponse parameter is not base64');
  }
  const bytes = Buffer.from(samlResponse, 'base64');
  if (bytes.length > MAX_RESPONSE_BYTES) {
    throw new SamlRefusal('malformed', `the SAML response is larger than ${MAX_RESPONSE_BYTES} bytes`);
  }
  const xml = bytes.toString('utf8');
  const doc = parseStrictXml(xml, 'SAML response');
  const root = doc.documentElement;
  if (root.namespaceURI !== SAMLP_NS || root.localName !== 'Response') {
    throw new SamlRefusal('malformed', 'the message is not a SAML 2.0 Response');
  }
  const { comment, instruction } = hasCommentOrInstruction(doc);
  if (comment) {
    throw new SamlRefusal(
      'comment',
      'the SAML response contains XML comments; they are refused (comment injection into NameID or attributes)',
    );
  }
  if (instruction) throw new SamlRefusal('malformed', 'the SAML response contains processing instructions');

  const status = childElement(root, SAMLP_NS, 'Status');
  const statusCode = attributeOf(status ? childElement(status, SAMLP_NS, 'StatusCode') : undefined, 'Value');
  if (statusCode !== SUCCESS) {
    const detail = textOf(status ? childElement(status, SAMLP_NS, 'StatusMessage') : undefined);
    const code = (statusCode ?? 'no status').replace(/^urn:oasis:names:tc:SAML:2\.0:status:/, '');
    throw new SamlRefusal(
      'status',
      `the identity provider did not sign you in (${code}${detail ? `: ${detail}` : ''})`,
    );
  }

  const elements = allElements(root);
  const named = (ns: string, name: string) =>
    elements.filter((e) => e.namespaceURI === ns && e.localName === name);
  if (named(SAMLP_NS, 'Response').length !== 1) {
    throw new SamlRefusal('wrapping', 'the SAML response nests another Response (signature wrapping)');
  }
  const assertions = [...named(SAML_NS, 'Assertion'), ...named(SAML_NS, 'EncryptedAssertion')];
  if (assertions.length !== 1 || assertions[0].parentNode !== root) {
    throw new SamlRefusal(
      'wrapping',
      assertions.length === 0
        ? 'the SAML response carries no assertion'
        : `the SAML response carries ${assertions.length} assertions or one out of place; exactly one, directly in the Response, is accepted (signature wrapping)`,
    );
  }
  const ids = new Set<string>();
  for (const element of elements) {
    for (const name of ['ID', 'Id', 'id']) {
      const id = attributeOf(element, name);
      if (id === undefined) continue;
      if (ids.has(id)) {
        throw new SamlRefusal('wrapping', `the SAML response uses the ID "${id}" twice (signature wrapping)`);
      }
      ids.add(id);
    }
  }
  const signatures = named(DS_NS, 'Signature');
  for (const signature of signatures) {
    const parent = signature.parentNode;
    if (parent !== root && parent !== assertions[0]) {
      throw new SamlRefusal(
        'wrapping',
        'the SAML response carries a signature outside the Response and Assertion (signature wrapping)',
      );
    }
  }
  for (const method of named(DS_NS, 'SignatureMethod')) {
    const algorithm = attributeOf(method, 'Algorithm') ?? '';
    if (!SIGNATURE_ALGORITHMS.has(algorithm)) {
      throw new SamlRefusal(
        'algorithm',
        `the signature algorithm ${algorithm} is refused (RSA-SHA256 or RSA-SHA512 expected)`,
      );
    }
  }
  for (const method of named(DS_NS, 'DigestMethod')) {
    const algorithm = attributeOf(method, 'Algorithm') ?? '';
    // Inside an EncryptedKey, DigestMethod names OAEP's hash, not a signature digest.
    if (method.parentNode && (method.parentNode as Element).localName === 'EncryptionMethod') continue;
    if (!DIGEST_ALGORITHMS.has(algorithm)) {
      throw new SamlRefusal(
        'algorithm',
        `the digest algorithm ${algorithm} is refused (SHA-256 or SHA-512 expected)`,
      );
    }
  }
  for (const method of named(XENC_NS, 'EncryptionMethod')) {
    const algorithm = attributeOf(method, 'Algorithm') ?? '';
    if (!ENCRYPTION_ALGORITHMS.has(algorithm)) {
      throw new SamlRefusal(
        'algorithm',
        `the encryption algorithm ${algorithm} is refused (RSA-OAEP with AES expected)`,
      );
    }
  }
  const responseId = attributeOf(root, 'ID');
  if (!responseId) throw new SamlRefusal('malformed', 'the SAML response has no ID');
  return {
    xml,
    responseId,
    inResponseTo: attributeOf(root, 'InResponseTo'),
    destination: attributeOf(root, 'Destination'),
    issuer: textOf(childElement(root, SAML_NS, 'Issuer')),
    responseSigned: signatures.some((s) => s.parentNode === root),
    encrypted: assertions[0].localName === 'EncryptedAssertion',
  };
}
