/**
 * What a refused SAML response failed. Each value names one check of SAML core / profiles §4.1.4.3 and
 * the security considerations, so the audit record says which door was tried.
 */
export type SamlCheck =
  | 'malformed'
  | 'comment'
  | 'wrapping'
  | 'algorithm'
  | 'signature'
  | 'decryption'
  | 'status'
  | 'issuer'
  | 'destination'
  | 'recipient'
  | 'audience'
  | 'expired'
  | 'not-yet-valid'
  | 'in-response-to'
  | 'replay'
  | 'subject'
  | 'unsolicited'
  | 'disabled';

/** A SAML response the gateway refuses; `message` is shown to the user and recorded in the audit log. */
export class SamlRefusal extends Error {
  constructor(
    readonly check: SamlCheck,
    message: string,
  ) {
    super(message);
    this.name = 'SamlRefusal';
  }
}
