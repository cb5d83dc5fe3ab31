/**
 * A message that breaks HTTP/1.1's framing rules (RFC 9112) or the parser's limits. `status` is
 * what a server answers for it (400, 413, 431, 501, 505); a relay answers 502 when the message came
 * from the target instead.
 */
export class HttpProtocolError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpProtocolError';
  }
}
