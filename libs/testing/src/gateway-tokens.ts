/** The secret tests give TOLLGATE_BOOTSTRAP_ADMIN_SECRET; the gateway makes `bootstrap-admin` from it. */
export const TEST_BOOTSTRAP_ADMIN_SECRET = 'test-bootstrap-admin-secret-0123456789';

export interface GatewayTokenResponse {
  readonly access_token: string;
  readonly token_type: string;
  readonly expires_in: number;
  readonly scope: string;
  readonly refresh_token?: string;
  readonly issued_token_type?: string;
}

/** POSTs a form to the gateway's token endpoint; resolves with status and parsed JSON body. */
export async function postTokenEndpoint(
  httpUrl: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${httpUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** A service account's access token by client credentials (the real token endpoint, over HTTP). */
export async function serviceAccountToken(
  httpUrl: string,
  clientId: string,
  clientSecret: string,
  scope?: string,
): Promise<GatewayTokenResponse> {
  const { status, body } = await postTokenEndpoint(httpUrl, {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: clientSecret,
    ...(scope ? { scope } : {}),
  });
  if (status !== 200) throw new Error(`client credentials for ${clientId} failed: ${JSON.stringify(body)}`);
  return body as unknown as GatewayTokenResponse;
}

/**
 * An admin token from a gateway started with TOLLGATE_BOOTSTRAP_ADMIN_SECRET=TEST_BOOTSTRAP_ADMIN_SECRET
 * (service account `bootstrap-admin`, group tollgate-admins).
 */
export async function bootstrapAdminToken(httpUrl: string): Promise<string> {
  return (await serviceAccountToken(httpUrl, 'bootstrap-admin', TEST_BOOTSTRAP_ADMIN_SECRET)).access_token;
}
