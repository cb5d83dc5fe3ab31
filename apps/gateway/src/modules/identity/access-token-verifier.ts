import type { Principal } from './principal';

/**
 * Verifies a gateway access token (signature, issuer, audience, expiry, revocation of the token and
 * of every token it was derived from) and returns its principal. Throws `UnauthenticatedError` with
 * the reason otherwise. Implemented and bound by the IdentityModule; used by every entry path (REST
 * guard, gRPC ClientTunnel, native protocol listeners).
 */
export abstract class AccessTokenVerifier {
  abstract verify(token: string): Promise<Principal>;
}
