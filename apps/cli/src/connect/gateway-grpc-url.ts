import { loadCliConfig } from '@tollgate/config';

/**
 * The gRPC URL the gateway says it can be dialled at (GET /api/v1/gateway), for `connect` and `exec`
 * when neither --grpc nor TOLLGATE_GRPC_URL is given: a user who logged in to a gateway reaches its
 * tunnel without knowing the port. Undefined when the gateway cannot be asked (the local default
 * then applies, and the protocol check that follows says what is wrong).
 */
export async function advertisedGrpcUrl(
  token: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (env['TOLLGATE_GRPC_URL']?.trim()) return undefined;
  const { gatewayUrl } = loadCliConfig();
  try {
    const response = await fetch(`${gatewayUrl}/api/v1/gateway`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) return undefined;
    const body = (await response.json()) as { grpcUrl?: unknown };
    return typeof body.grpcUrl === 'string' && body.grpcUrl ? body.grpcUrl : undefined;
  } catch {
    return undefined;
  }
}
