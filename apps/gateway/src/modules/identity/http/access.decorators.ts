import { SetMetadata } from '@nestjs/common';
import type { Verb } from '../access-decider';

export const ACCESS_METADATA = 'tollgate:access';

/** What a route requires. Routes without a declaration require `admin` (secure by default). */
export type RouteAccess =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'verb'; readonly verb: Verb };

/** No token needed: health, metrics, JWKS, discovery, the token endpoint and the login flow. */
export const Public = () => SetMetadata(ACCESS_METADATA, { kind: 'public' } satisfies RouteAccess);

/** Any verified caller (the use case decides further, e.g. "only your own API keys"). */
export const Authenticated = () =>
  SetMetadata(ACCESS_METADATA, { kind: 'authenticated' } satisfies RouteAccess);

/** The caller needs this verb (decided by RBAC and audited). */
export const RequireVerb = (verb: Verb) =>
  SetMetadata(ACCESS_METADATA, { kind: 'verb', verb } satisfies RouteAccess);
