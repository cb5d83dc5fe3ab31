/** Base of every error the HTTP API reports; the problem+json filter maps it at the edge. */
export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** A stable, documented problem type (RFC 9457 `type`), relative to the API. */
  abstract readonly type: string;
  /** Extra members of the problem document (RFC 9457 extensions), e.g. OAuth's `error`. */
  readonly extensions?: Readonly<Record<string, unknown>>;
}
