/** A header as it was sent: the name's case kept, the value without surrounding whitespace. */
export type HttpHeader = readonly [name: string, value: string];

export interface RequestHead {
  readonly kind: 'request';
  readonly method: string;
  /** The request target as sent (origin-form `/path?query`, absolute-form, or `*`). */
  readonly target: string;
  readonly version: '1.0' | '1.1';
  readonly headers: readonly HttpHeader[];
}

export interface ResponseHead {
  readonly kind: 'response';
  readonly version: '1.0' | '1.1';
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly HttpHeader[];
}

export type HttpHead = RequestHead | ResponseHead;

/**
 * How a message's body is delimited (RFC 9112 section 6): none, a Content-Length, chunked, until the
 * connection closes (responses only), or not HTTP any more after the head (a 101 Switching
 * Protocols response).
 */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' }
  | { readonly kind: 'upgrade' };

/**
 * What the parser found, in order: a head, the body's bytes exactly as they were on the wire
 * (chunk framing and trailers included, so a relay forwards them unchanged), the end of the message;
 * after a protocol switch, `raw` bytes that are no longer HTTP.
 */
export type HttpEvent<H extends HttpHead = HttpHead> =
  | { readonly type: 'head'; readonly head: H; readonly framing: BodyFraming }
  | { readonly type: 'body'; readonly bytes: Buffer }
  | { readonly type: 'end' }
  | { readonly type: 'raw'; readonly bytes: Buffer };

/**
 * A header's name as servers that key headers CGI-style read it (`HTTP_X_API_KEY`): case and `-`
 * versus `_` do not count. Rack on Puma before 6.4.3, WSGI on gunicorn before 22 and other CGI-style
 * servers read `X_HTTP_Method_Override` as `X-HTTP-Method-Override` (CVE-2024-45614), so a name
 * the relay acts on is compared in this form.
 */
export function cgiHeaderName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

/** The first value of a header (names compare case-insensitively). */
export function headerValue(headers: readonly HttpHeader[], name: string): string | undefined {
  const lower = name.toLowerCase();
  return headers.find(([n]) => n.toLowerCase() === lower)?.[1];
}

/** Comma-separated tokens of every header with this name, lower case (Connection, Transfer-Encoding). */
export function headerTokens(headers: readonly HttpHeader[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers
    .filter(([n]) => n.toLowerCase() === lower)
    .flatMap(([, value]) => value.split(','))
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token.length > 0);
}

/** Whether the sender of this message closes the connection after it (RFC 9112 section 9.3). */
export function closesConnection(head: HttpHead): boolean {
  const connection = headerTokens(head.headers, 'connection');
  if (connection.includes('close')) return true;
  return head.version === '1.0' && !connection.includes('keep-alive');
}

/** Whether a request asks to switch protocols (WebSocket and the like). */
export function requestsUpgrade(head: RequestHead): boolean {
  return (
    headerValue(head.headers, 'upgrade') !== undefined &&
    headerTokens(head.headers, 'connection').includes('upgrade')
  );
}
