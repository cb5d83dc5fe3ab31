import { loadGatewayConfig } from '@tollgate/config';
import { makeTempDir } from '@tollgate/testing';
import { startGateway, type RunningGateway } from '../start-gateway';

export interface TestGateway {
  readonly gateway: RunningGateway;
  readonly url: string;
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

/** A gateway in this process on a temporary embedded store and a free port. */
export async function startTestGateway(env: Record<string, string> = {}): Promise<TestGateway> {
  const dir = makeTempDir('tollgate-gw-');
  const config = loadGatewayConfig(
    { httpPort: 0, grpcPort: 0, dataDir: dir.path, logLevel: 'silent' },
    { ...env },
  );
  const gateway = await startGateway(config);
  const request = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const init: RequestInit = { method, headers: { ...headers } };
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
      body: text && contentType.includes('json') ? (JSON.parse(text) as unknown) : text,
    };
  };
  return {
    gateway,
    url: gateway.httpUrl,
    request,
    async stop() {
      await gateway.close();
      dir.remove();
    },
  };
}
