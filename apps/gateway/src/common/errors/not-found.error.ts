import { ApiError } from './api.error';

export class NotFoundError extends ApiError {
  readonly status = 404;
  readonly title = 'Not Found';
  readonly type = 'https://tollgate.dev/problems/not-found';

  constructor(kind: string, ref: string) {
    super(`${kind} "${ref}" does not exist`);
    this.name = 'NotFoundError';
  }
}
