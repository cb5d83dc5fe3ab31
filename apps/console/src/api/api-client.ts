import type { AuthSession } from '../auth/auth-session';
import { ApiProblem } from './problem';

/**
 * The gateway's API with the signed-in user's token. A 401 (a token revoked or expired early) is
 * retried once after a refresh; other errors become ApiProblem.
 */
export class ApiClient {
  constructor(private readonly auth: AuthSession) {}

  get<T>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.json<T>('POST', path, body ?? {});
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('PATCH', path, body);
  }

  async delete(path: string): Promise<void> {
    await this.send('DELETE', path);
  }

  /** The raw response of a successful request (for streams and downloads). */
  async send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<Response> {
    let response = await this.fetch(method, path, body, signal);
    if (response.status === 401) {
      await this.auth.refresh();
      response = await this.fetch(method, path, body, signal);
    }
    if (!response.ok) throw await ApiProblem.from(response);
    return response;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  private async fetch(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.auth.token()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      return await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
        cache: 'no-store',
      });
    } catch (error) {
      if (signal?.aborted) throw error;
      throw ApiProblem.unreachable(error);
    }
  }
}

/** Reads a JSON-lines response, calling `onLine` for each object as it arrives. */
export async function readJsonLines<T>(response: Response, onLine: (value: T) => void): Promise<void> {
  const reader = response.body?.getReader();
  if (!reader) return;
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { done, value } = await reader.read();
    buffered += decoder.decode(value, { stream: !done });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) onLine(JSON.parse(line) as T);
    }
    if (done) break;
  }
  if (buffered.trim()) onLine(JSON.parse(buffered) as T);
}
