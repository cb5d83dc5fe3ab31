import { ApiError } from './api.error';

/** The caller is known but the policy does not allow the action (403). */
export class ForbiddenError extends ApiError {
  readonly status = 403;
  readonly title = 'Forbidden';
  readonly type = 'https://tollgate.dev/problems/forbidden';

  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}
