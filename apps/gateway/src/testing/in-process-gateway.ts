import { loadGatewayConfig } from '@tollgate/config';
import { bootstrapAdminToken, makeTempDir, TEST_BOOTSTRAP_ADMIN_SECRET } from '@tollgate/testing';
import { startGateway, type RunningGateway } from '../start-gateway';

export interface TestGateway {
  readonly gateway: RunningGateway;
  readonly url: string;
  /** Token of the service account `bootstrap-admin` (group tollgate-admins). */
  readonly adminToken: string;
  /** Sends as admin unless `headers` has its own `authorization` (an empty one sends none). */
  request(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<TestResponse>;
  stop(): Promise<void>;
}

export interface TestResponse {
  status: number;
  contentType: string;
  body: unknown;
}

/**
 * A gateway in this process on a temporary embedded store and a free port, with the bootstrap admin
 * service account enabled (TEST_BOOTSTRAP_ADMIN_SECRET).
 */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dir = makeTempDir('tollgate-gw-');
  const config = loadGatewayConfig(
    { httpPort: 0, grpcPort: 0, dataDir: dir.path, logLevel: 'silent' },
    { TOLLGATE_BOOTSTRAP_ADMIN_SECRET: TEST_BOOTSTRAP_ADMIN_SECRET, ...env },
  );
  const gateway = await startGateway(config);
  const adminToken = await bootstrapAdminToken(gateway.httpUrl).catch(async (error: unknown) => {
    await gateway.close();
    throw error;
  });
  const request = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const { authorization = `Bearer ${adminToken}`, ...rest } = headers;
    const init: RequestInit = { method, headers: { ...rest, ...(authorization ? { authorization } : {}) } };
    if (body !== undefined) {
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
    }
    const response = await fetch(gateway.httpUrl + path, init);
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      contentType,
      // JSON lines (application/x-ndjson, the audit export) stay text, one record a line.
      body:
        text && contentType.includes('json') && !contentType.includes('ndjson')
          ? (JSON.parse(text) as unknown)
          : text,
    };
  };
  return {
    gateway,
    url: gateway.httpUrl,
    adminToken,
    request,
    async stop() {
      await gateway.close();
      dir.remove();
    },
  };
}
