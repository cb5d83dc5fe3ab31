import { loadCliConfig } from '@tollgate/config';
import { currentAccessToken, NotLoggedInError, refusedTokenHint } from './credentials/access-token';

/** A small client for the gateway's REST API, as the admin commands use it. */
export class ApiClient {
  /** Why the last call went without a token (no login, or one that could not be refreshed). */
  private notLoggedIn: NotLoggedInError | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly token: string | undefined | (() => Promise<string | undefined>),
    /** Added to a 401's message: what to do about the refused token. */
    private readonly onUnauthorized?: string,
  ) {}

  /** TOLLGATE_TOKEN, else the saved login (refreshed when needed); none: the gateway answers 401. */
  static fromEnvironment(gatewayFlag?: string): ApiClient {
    const config = loadCliConfig({ gatewayUrl: gatewayFlag });
    const client: ApiClient = new ApiClient(
      config.gatewayUrl,
      () =>
        currentAccessToken(config).then(
          (token) => {
            client.notLoggedIn = undefined;
            return token;
          },
          (error: unknown) => {
            // Sent without a token (some answers need none); a 401 then says why there was none.
            if (!(error instanceof NotLoggedInError)) throw error;
            client.notLoggedIn = error;
            return undefined;
          },
        ),
      refusedTokenHint(config.token),
    );
    return client;
  }

  /** TOLLGATE_TOKEN, else the saved login; none: NotLoggedInError says to run `tollgate login`. */
  static signedIn(gatewayFlag?: string): ApiClient {
    const config = loadCliConfig({ gatewayUrl: gatewayFlag });
    return new ApiClient(config.gatewayUrl, () => currentAccessToken(config), refusedTokenHint(config.token));
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = typeof this.token === 'function' ? await this.token() : this.token;
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) throw this.refusal(response.status, parsed);
    return parsed as T;
  }

  /** A GET whose answer is not JSON (a recording); problem documents still become ApiCallError. */
  async text(path: string): Promise<string> {
    const headers: Record<string, string> = {};
    const token = typeof this.token === 'function' ? await this.token() : this.token;
    if (token) headers['authorization'] = `Bearer ${token}`;
    const response = await fetch(`${this.baseUrl}${path}`, { headers, signal: AbortSignal.timeout(300_000) });
    const text = await response.text();
    if (!response.ok) {
      let problem: unknown;
      try {
        problem = JSON.parse(text) as unknown;
      } catch {
        problem = undefined;
      }
      throw this.refusal(response.status, problem);
    }
    return text;
  }

  private refusal(status: number, body: unknown): Error {
    if (status !== 401) return new ApiCallError(status, body);
    // No token was sent: why there was none (not logged in, a login that could not be refreshed)
    // says more than the gateway's "no bearer token".
    if (this.notLoggedIn) return this.notLoggedIn;
    return new ApiCallError(status, body, this.onUnauthorized);
  }
}

/** A non-2xx answer; the message is the problem document's detail and field errors. */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    body: unknown,
    hint?: string,
  ) {
    super(hint ? `${describeProblem(status, body)} (${hint})` : describeProblem(status, body));
    this.name = 'ApiCallError';
  }
}

function describeProblem(status: number, body: unknown): string {
  if (typeof body !== 'object' || body === null) return `HTTP ${status}`;
  const problem = body as {
    title?: string;
    detail?: string;
    errors?: { field?: string; message?: string; line?: number }[];
  };
  // Field errors the detail already carries (a one-error validation repeats it there) are said once;
  // one with a position in a document (a policy's `file:line:column: path: reason`) names its place.
  const fields = (problem.errors ?? [])
    .map((e) => (e.line !== undefined && e.message ? e.message : `${e.field ?? ''}: ${e.message ?? ''}`))
    .filter((text) => !problem.detail?.includes(text))
    .join('; ');
  return [`${problem.title ?? 'HTTP'} (${status})`, problem.detail, fields].filter(Boolean).join(': ');
}
