import { ApiError } from '../../../common/errors';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'access_denied'
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token';

/**
 * A token endpoint error (RFC 6749 §5.2). It leaves as problem+json carrying OAuth's `error` and
 * `error_description` members, so OAuth clients and problem+json readers both understand it.
 */
export class OAuthError extends ApiError {
  readonly status: number;
  readonly title: string;
  readonly type = 'https://tollgate.dev/problems/oauth';
  override readonly extensions: Readonly<Record<string, unknown>>;

  /** The refusal is in the audit log already (the token controller records the others). */
  readonly recorded: boolean;

  constructor(
    readonly error: OAuthErrorCode,
    description: string,
    options: { readonly recorded?: boolean } = {},
  ) {
    super(description);
    this.recorded = options.recorded ?? false;
    this.name = 'OAuthError';
    this.status = error === 'invalid_client' ? 401 : 400;
    this.title = this.status === 401 ? 'Unauthorized' : 'Bad Request';
    this.extensions = { error, error_description: description };
  }
}
