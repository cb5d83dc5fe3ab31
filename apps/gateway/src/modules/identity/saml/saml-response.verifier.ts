import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { readAssertion, type SamlAssertion, type SubjectConfirmation } from './saml-assertion';
import { SamlRefusal } from './saml-refusal';
import { checkResponseShape } from './saml-response-shape';

/** What a response is verified against. */
export interface SamlTrust {
  readonly idpEntityId: string;
  /** PEM certificates, any of which may sign (two at once during a rotation). */
  readonly idpCerts: readonly string[];
  readonly spEntityId: string;
  readonly acsUrl: string;
  readonly decryptionKey?: string;
  readonly clockSkewMs: number;
  readonly maxAssertionAgeMs: number;
}

export interface VerifiedSamlResponse {
  readonly assertion: SamlAssertion;
  /** Until when the assertion could still be accepted: its ID must stay spent until then. */
  readonly usableUntil: Date;
  /** The AuthnRequest the response says it answers (signed InResponseTo), if any. */
  readonly answers?: string;
}

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/**
 * Verifies a SAML Response from the HTTP-POST binding (SAML profiles §4.1.4.3 and the security
 * considerations). The structural checks run first; node-saml (xml-crypto) then verifies the
 * signature of the Response or of the Assertion against the configured certificates, decrypts an
 * EncryptedAssertion, and hands back only the signed bytes; every protocol check below is made on
 * those bytes by this code, not left to the library's defaults. `requestId` is the ID of the
 * AuthnRequest this response must answer; undefined when no login is known for it (the caller then
 * decides from `answers` whether it is unsolicited or answers a login it has no record of).
 */
export async function verifySamlResponse(
  samlResponse: string,
  trust: SamlTrust,
  requestId: string | undefined,
  now: Date = new Date(),
): Promise<VerifiedSamlResponse> {
  const shape = checkResponseShape(samlResponse);
  if (shape.issuer !== undefined && shape.issuer !== trust.idpEntityId) {
    throw new SamlRefusal(
      'issuer',
      `the SAML response comes from "${shape.issuer}", not the configured identity provider`,
    );
  }
  if (shape.destination !== undefined ? shape.destination !== trust.acsUrl : shape.responseSigned) {
    throw new SamlRefusal(
      'destination',
      `the SAML response is addressed to ${shape.destination ?? 'no Destination'}, not this gateway (${trust.acsUrl})`,
    );
  }

  const sp = new SAML({
    idpCert: [...trust.idpCerts],
    issuer: trust.spEntityId,
    callbackUrl: trust.acsUrl,
    // Timestamps, audience and InResponseTo are checked below on the signed assertion.
    audience: false,
    acceptedClockSkewMs: -1,
    maxAssertionAgeMs: 0,
    validateInResponseTo: ValidateInResponseTo.never,
    // Either the Response or the Assertion must be signed; a signature that is present must verify.
    wantAuthnResponseSigned: shape.responseSigned,
    wantAssertionsSigned: false,
    decryptionPvk: trust.decryptionKey,
  });
  let assertionXml: string;
  try {
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: samlResponse });
    if (!profile) throw new Error('Invalid signature: no assertion');
    assertionXml = profile.getAssertionXml?.() ?? '';
  } catch (error) {
    throw libraryRefusal(error, shape.encrypted, trust.idpCerts.length, Boolean(trust.decryptionKey));
  }
  const assertion = readAssertion(assertionXml);
  checkAssertion(assertion, trust, requestId, shape.inResponseTo, now);
  const skew = trust.clockSkewMs;
  const ends = [
    ...assertion.confirmations.map((c) => c.notOnOrAfter?.getTime() ?? 0),
    assertion.notOnOrAfter?.getTime() ?? 0,
    (assertion.issueInstant?.getTime() ?? now.getTime()) + trust.maxAssertionAgeMs,
  ];
  const confirmation = assertion.confirmations.find((c) => c.recipient === trust.acsUrl);
  return {
    assertion,
    usableUntil: new Date(Math.max(...ends) + skew),
    answers: confirmation?.inResponseTo ?? shape.inResponseTo,
  };
}

function checkAssertion(
  assertion: SamlAssertion,
  trust: SamlTrust,
  requestId: string | undefined,
  responseInResponseTo: string | undefined,
  now: Date,
): void {
  const skew = trust.clockSkewMs;
  const t = now.getTime();
  if (assertion.issuer !== trust.idpEntityId) {
    throw new SamlRefusal(
      'issuer',
      `the assertion was issued by "${assertion.issuer ?? 'nobody'}", not the configured identity provider`,
    );
  }
  const bearer = assertion.confirmations.filter((c) => c.method === BEARER);
  if (bearer.length === 0)
    throw new SamlRefusal('subject', 'the assertion has no bearer SubjectConfirmation');
  const confirmation: SubjectConfirmation | undefined = bearer.find((c) => c.recipient === trust.acsUrl);
  if (!confirmation) {
    throw new SamlRefusal(
      'recipient',
      `the assertion is meant for ${bearer.map((c) => c.recipient ?? 'no Recipient').join(', ')}, not this gateway (${trust.acsUrl})`,
    );
  }
  if (!confirmation.notOnOrAfter) {
    throw new SamlRefusal('subject', 'the bearer SubjectConfirmationData has no NotOnOrAfter');
  }
  const expired = (end: Date | undefined) => end !== undefined && t - skew >= end.getTime();
  const early = (start: Date | undefined) => start !== undefined && t + skew < start.getTime();
  if (
    expired(confirmation.notOnOrAfter) ||
    expired(assertion.notOnOrAfter) ||
    expired(assertion.sessionNotOnOrAfter)
  ) {
    throw new SamlRefusal('expired', 'the SAML assertion has expired; sign in again');
  }
  if (
    assertion.issueInstant !== undefined &&
    t - skew - trust.maxAssertionAgeMs > assertion.issueInstant.getTime()
  ) {
    throw new SamlRefusal(
      'expired',
      `the SAML assertion was issued more than ${trust.maxAssertionAgeMs / 1000} s ago; sign in again`,
    );
  }
  if (early(confirmation.notBefore) || early(assertion.notBefore) || early(assertion.issueInstant)) {
    throw new SamlRefusal(
      'not-yet-valid',
      'the SAML assertion is not valid yet (check the clocks of the IdP and the gateway)',
    );
  }
  if (
    assertion.audienceRestrictions.length === 0 ||
    assertion.audienceRestrictions.some((audiences) => !audiences.includes(trust.spEntityId))
  ) {
    const named = assertion.audienceRestrictions.flat();
    throw new SamlRefusal(
      'audience',
      `the assertion is for the audience ${named.length ? named.join(', ') : '(none)'}, not this gateway (${trust.spEntityId})`,
    );
  }
  if (
    requestId !== undefined &&
    (confirmation.inResponseTo !== requestId || (responseInResponseTo ?? requestId) !== requestId)
  ) {
    throw new SamlRefusal(
      'in-response-to',
      'the SAML response answers another login request (InResponseTo does not match); sign in again',
    );
  }
  if (!assertion.hasAuthnStatement) throw new SamlRefusal('subject', 'the assertion has no AuthnStatement');
}

/** node-saml reports by message; only the category reaches the user. */
function libraryRefusal(error: unknown, encrypted: boolean, certs: number, canDecrypt: boolean): SamlRefusal {
  if (error instanceof SamlRefusal) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (encrypted && !/signature/i.test(message)) {
    return new SamlRefusal(
      'decryption',
      canDecrypt
        ? "the encrypted assertion cannot be decrypted with the gateway's decryption key"
        : 'the assertion is encrypted but no decryption key is configured (TOLLGATE_SAML_DECRYPTION_KEY)',
    );
  }
  return new SamlRefusal(
    'signature',
    `the SAML response is not validly signed by the identity provider (checked against ${certs} configured certificate${certs === 1 ? '' : 's'})`,
  );
}
