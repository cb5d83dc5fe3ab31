import type { IssuedToken } from '../tokens/token-issuer.service';

export const ACCESS_TOKEN_TYPE_URN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** RFC 6749 §5.1 token response (plus RFC 8693's issued_token_type where it applies). */
export interface TokenResponse {
  readonly access_token: string;
  readonly token_type: 'Bearer';
  readonly expires_in: number;
  readonly scope: string;
  readonly issued_token_type?: string;
  readonly refresh_token?: string;
}

export function tokenResponse(issued: IssuedToken, extra: Partial<TokenResponse> = {}): TokenResponse {
  return {
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: Math.max(0, Math.floor((issued.expiresAt.getTime() - Date.now()) / 1000)),
    scope: issued.scopes.join(' '),
    ...extra,
  };
}
