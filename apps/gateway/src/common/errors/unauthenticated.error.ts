import { ApiError } from './api.error';

/** The caller could not be identified: no token, or a token that failed verification (401). */
export class UnauthenticatedError extends ApiError {
  readonly status = 401;
  readonly title = 'Unauthorized';
  readonly type = 'https://tollgate.dev/problems/unauthenticated';

  constructor(message: string) {
    super(message);
    this.name = 'UnauthenticatedError';
  }
}
