/** The gateway's OAuth token endpoint, as the CLI calls it. */
export interface TokenEndpointResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
  readonly refresh_token?: string;
}

export class TokenEndpointError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
  ) {
    super(description);
    this.name = 'TokenEndpointError';
  }
}

export async function callTokenEndpoint(
  gatewayUrl: string,
  form: Record<string, string>,
  path = '/oauth/token',
): Promise<TokenEndpointResponse> {
  const response = await fetch(`${gatewayUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(30_000),
  });
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const error = typeof body.error === 'string' ? body.error : 'error';
    const description =
      typeof body.error_description === 'string'
        ? body.error_description
        : typeof body.detail === 'string'
          ? body.detail
          : `HTTP ${response.status}`;
    throw new TokenEndpointError(response.status, error, description);
  }
  return body as unknown as TokenEndpointResponse;
}
