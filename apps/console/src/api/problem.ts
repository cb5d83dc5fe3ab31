/** One problem with a field of a request (policy problems also carry their line and column). */
export interface FieldProblem {
  readonly field: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/** An error answer of the gateway (application/problem+json, RFC 9457), or a failure to reach it. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: readonly FieldProblem[] = [],
    /** For a session that did not open: denied, agent offline, target unreachable, ... */
    readonly reason?: string,
  ) {
    super(detail || title);
    this.name = 'ApiProblem';
  }

  static async from(response: Response): Promise<ApiProblem> {
    let body: Record<string, unknown> = {};
    try {
      body = (await response.json()) as Record<string, unknown>;
    } catch {
      // Not JSON (a proxy's error page): the status says enough.
    }
    const text = (value: unknown) => (typeof value === 'string' ? value : '');
    return new ApiProblem(
      response.status,
      text(body['title']) || response.statusText || `HTTP ${response.status}`,
      text(body['detail']) || text(body['error_description']) || text(body['error']),
      Array.isArray(body['errors']) ? (body['errors'] as FieldProblem[]) : [],
      text(body['reason']) || undefined,
    );
  }

  static unreachable(error: unknown): ApiProblem {
    const message = error instanceof Error ? error.message : String(error);
    return new ApiProblem(0, 'Gateway unreachable', `the gateway did not answer (${message})`);
  }
}
