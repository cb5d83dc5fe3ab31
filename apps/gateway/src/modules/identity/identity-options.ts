import type { GatewayConfig } from '@tollgate/config';

/** The identity settings the IdentityModule is built with (a slice of the gateway configuration). */
export type IdentityOptions = Pick<
  GatewayConfig,
  | 'publicUrl'
  | 'tokenIssuer'
  | 'tokenAudience'
  | 'accessTokenTtlSeconds'
  | 'refreshTokenTtlSeconds'
  | 'signingKeyRotationSeconds'
  | 'bootstrapAdminSecret'
  | 'storeKey'
  | 'oidcIssuer'
  | 'oidcClientId'
  | 'oidcClientSecret'
  | 'oidcScopes'
  | 'oidcGroupsClaim'
  | 'devIdp'
  | 'samlIdpMetadata'
  | 'samlIdpCerts'
  | 'samlSpEntityId'
  | 'samlGroupsAttribute'
  | 'samlEmailAttribute'
  | 'samlDisplayNameAttribute'
  | 'samlSpKey'
  | 'samlSpCert'
  | 'samlDecryptionKey'
  | 'samlDecryptionCert'
  | 'samlClockSkewSeconds'
  | 'samlMaxAssertionAgeSeconds'
  | 'samlAllowIdpInitiated'
  | 'devSaml'
>;

/** Injection token for IdentityOptions (a class, so no string tokens). */
export abstract class IdentityOptionsToken {}
