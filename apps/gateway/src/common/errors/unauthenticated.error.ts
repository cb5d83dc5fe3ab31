import { ApiError } from './api.error';

/**
 * Who a refused token names, when its signature checked out (it is ours, but revoked, expired or
 * its subject disabled): refusals are recorded with the subject and actor chain it carries.
 */
export interface RefusedTokenAttribution {
  readonly subject: string;
  readonly actorChain: readonly { readonly subject: string }[];
  readonly tokenId?: string;
}

/** The caller could not be identified: no token, or a token that failed verification (401). */
export class UnauthenticatedError extends ApiError {
  readonly status = 401;
  readonly title = 'Unauthorized';
  readonly type = 'https://tollgate.dev/problems/unauthenticated';

  constructor(
    message: string,
    readonly attribution?: RefusedTokenAttribution,
  ) {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}
