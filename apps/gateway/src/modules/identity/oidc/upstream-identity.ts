import * as client from 'openid-client';
import type { OidcRelyingPartyService } from './oidc-relying-party.service';
import type { IdpIdentity } from '../subjects/sync-user.usecase';

/** The user's identity from an IdP token response: ID token claims, then userinfo for what is missing. */
export async function identityFromTokens(
  rp: OidcRelyingPartyService,
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  expectedSubject?: string,
): Promise<IdpIdentity> {
  const claims = (tokens.claims() ?? {}) as Record<string, unknown>;
  const subject = typeof claims.sub === 'string' ? claims.sub : expectedSubject;
  if (!subject) throw new Error('the identity provider returned no subject');
  let merged: Record<string, unknown> = claims;
  if (groupsFromClaims(claims, rp.groupsClaim) === undefined || claims.email === undefined) {
    const userinfo = await client.fetchUserInfo(await rp.configuration(), tokens.access_token, subject);
    merged = { ...userinfo, ...claims, ...pickDefined(userinfo) };
  }
  return {
    issuer: rp.issuer,
    subject,
    // Roles bind people by e-mail: an address the IdP says it has not verified (one a user may have
    // typed, anyone's) is not theirs. An IdP that does not say (many enterprise ones) is trusted.
    email: typeof merged.email === 'string' && !unverified(merged.email_verified) ? merged.email : undefined,
    displayName: typeof merged.name === 'string' ? merged.name : undefined,
    groups: groupsFromClaims(merged, rp.groupsClaim) ?? [],
  };
}

function unverified(claim: unknown): boolean {
  return claim === false || claim === 'false';
}

function pickDefined(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
}

/** The groups claim as a list: an array of strings, or one space/comma-separated string. */
export function groupsFromClaims(claims: Record<string, unknown>, claim: string): string[] | undefined {
  const value = claims[claim];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === 'string' && g !== '');
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return undefined;
}
