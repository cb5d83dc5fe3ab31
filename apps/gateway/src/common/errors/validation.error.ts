import { ApiError } from './api.error';

export interface FieldProblem {
  /** Dotted path of the offending field, e.g. `target.port` or `agents[0]`; empty for the whole body. */
  readonly field: string;
  readonly message: string;
  /** For a problem inside a text document (a policy's YAML): where, 1-based. */
  readonly line?: number;
  readonly column?: number;
}

export class ValidationError extends ApiError {
  readonly status = 400;
  readonly title = 'Bad Request';
  readonly type = 'https://tollgate.dev/problems/validation';

  constructor(readonly fields: readonly FieldProblem[]) {
    // A problem inside a document names its place itself (`policy.yaml:4:23: roles[0]...: reason`).
    super(
      fields
        .map((f) => (f.field && f.line === undefined ? `${f.field}: ${f.message}` : f.message))
        .join('; '),
    );
    this.name = 'ValidationError';
  }
}
