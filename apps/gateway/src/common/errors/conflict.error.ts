import { ApiError } from './api.error';

export class ConflictError extends ApiError {
  readonly status = 409;
  readonly title = 'Conflict';
  readonly type = 'https://tollgate.dev/problems/conflict';

  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}
