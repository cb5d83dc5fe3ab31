import { HttpProtocolError } from './http-protocol.error';
import {
  headerTokens,
  requestsUpgrade,
  type BodyFraming,
  type HttpEvent,
  type HttpHead,
  type HttpHeader,
  type RequestHead,
  type ResponseHead,
} from './http-messages';

export interface HttpParserLimits {
  /** Largest head (start line and headers) accepted; a larger one is a 431 (request) or an error. */
  readonly maxHeadBytes: number;
  readonly maxHeaders: number;
}

export const DEFAULT_HTTP_LIMITS: HttpParserLimits = { maxHeadBytes: 64 * 1024, maxHeaders: 256 };

/** Longest chunk-size line (size, extensions) or trailer line accepted in a chunked body. */
const MAX_CHUNK_LINE = 4096;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/;
const STATUS_LINE = /^HTTP\/(\d)\.(\d) (\d{3})(?: ([\t\x20-\x7e\x80-\xff]*))?$/;
const ABSOLUTE_TARGET = /^https?:\/\/[^/?#\\]*(?:[/?]|$)/i;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,12})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?$/;

type State =
  | { readonly kind: 'head' }
  | { kind: 'length'; remaining: number }
  | { kind: 'chunk-size'; line: string }
  | { kind: 'chunk-data'; remaining: number }
  | { kind: 'chunk-crlf'; seen: number }
  | { kind: 'trailers'; text: string; lines: number }
  | { readonly kind: 'close' }
  | { readonly kind: 'raw' }
  /** After a request that asked to upgrade: its bytes wait until the response says whether it did. */
  | { readonly kind: 'held'; readonly bytes: Buffer[]; size: number };

type Emit<H extends HttpHead> = (event: HttpEvent<H>) => void;

/**
 * An HTTP/1.1 message parser that does no I/O, for either direction of a connection: feed it the
 * bytes as they arrive, split anywhere, and it reports heads, body bytes (exactly as sent, so a relay
 * forwards them untouched and unbuffered), message ends, and bytes after a protocol switch. It is
 * strict where lenient parsers disagree with each other (the root of request smuggling): CRLF line
 * ends only, no whitespace before a colon, no folded lines, Content-Length and Transfer-Encoding
 * never together in a request, conflicting lengths refused.
 */
abstract class HttpMessageParser<H extends HttpHead> {
  private state: State = { kind: 'head' };
  /** The head being read, in one buffer grown as needed (feeding a byte at a time stays linear). */
  private head = Buffer.alloc(0);
  private headLength = 0;

  constructor(protected readonly limits: HttpParserLimits = DEFAULT_HTTP_LIMITS) {}

  parse(chunk: Buffer, emit: Emit<H>): void {
    let offset = 0;
    while (offset < chunk.length) {
      offset = this.step(chunk, offset, emit);
    }
  }

  /** The connection ended: a body delimited by the close ends here; anything else unfinished is an error. */
  finish(emit: Emit<H>): void {
    const state = this.state;
    if (state.kind === 'close') {
      this.state = { kind: 'head' };
      emit({ type: 'end' });
      return;
    }
    if (state.kind === 'raw' || state.kind === 'held') return;
    if (state.kind === 'head' && this.headLength === 0) return;
    throw new HttpProtocolError(400, 'the connection ended in the middle of a message');
  }

  /** Whether the parser is between messages (nothing of a next one seen yet). */
  get idle(): boolean {
    return this.state.kind === 'head' && this.headLength === 0;
  }

  protected abstract parseHead(lines: string[]): { head: H; framing: BodyFraming };
  /**
   * Whether trailer fields may follow a chunked body. Servers that merge them into the head (Netty's
   * aggregator, some servlet containers) would read a request's trailer `Authorization` or
   * `X-Api-Key` past the agent's credential, so requests carry none.
   */
  protected readonly acceptsTrailers: boolean = true;

  /** What follows a message's end: the next message, or (for requests) held bytes. */
  protected afterMessage(_head: H): State {
    return { kind: 'head' };
  }

  protected setState(state: State): void {
    this.state = state;
  }

  protected get current(): State {
    return this.state;
  }

  private lastHead: H | undefined;

  private step(chunk: Buffer, offset: number, emit: Emit<H>): number {
    const state = this.state;
    switch (state.kind) {
      case 'head':
        return this.readHead(chunk, offset, emit);
      case 'length': {
        const take = Math.min(state.remaining, chunk.length - offset);
        emit({ type: 'body', bytes: chunk.subarray(offset, offset + take) });
        state.remaining -= take;
        if (state.remaining === 0) this.endMessage(emit);
        return offset + take;
      }
      case 'close':
        emit({ type: 'body', bytes: chunk.subarray(offset) });
        return chunk.length;
      case 'raw':
        emit({ type: 'raw', bytes: chunk.subarray(offset) });
        return chunk.length;
      case 'held': {
        const rest = chunk.subarray(offset);
        state.size += rest.length;
        if (state.size > this.limits.maxHeadBytes) {
          throw new HttpProtocolError(400, 'too many bytes sent before the upgrade was answered');
        }
        state.bytes.push(Buffer.from(rest));
        return chunk.length;
      }
      default:
        return this.readChunked(chunk, offset, emit);
    }
  }

  /** The chunked states: forwards the wire bytes it consumed as one body event per call. */
  private readChunked(chunk: Buffer, start: number, emit: Emit<H>): number {
    let offset = start;
    let ended = false;
    while (offset < chunk.length && !ended) {
      const state = this.state;
      if (state.kind === 'chunk-data') {
        const take = Math.min(state.remaining, chunk.length - offset);
        offset += take;
        state.remaining -= take;
        if (state.remaining === 0) this.state = { kind: 'chunk-crlf', seen: 0 };
      } else if (state.kind === 'chunk-crlf') {
        const expected = state.seen === 0 ? 0x0d : 0x0a;
        if (chunk[offset] !== expected) throw new HttpProtocolError(400, 'a chunk does not end with CRLF');
        offset++;
        if (++state.seen === 2) this.state = { kind: 'chunk-size', line: '' };
      } else if (state.kind === 'chunk-size') {
        const { line, next } = this.readLine(chunk, offset, state.line, MAX_CHUNK_LINE, 'chunk size line');
        offset = next;
        if (line === undefined) {
          state.line = this.pendingLine;
          continue;
        }
        const match = CHUNK_SIZE.exec(line);
        if (!match) throw new HttpProtocolError(400, 'a chunk size is not hexadecimal');
        const size = parseInt(match[1]!, 16);
        this.state =
          size === 0 ? { kind: 'trailers', text: '', lines: 0 } : { kind: 'chunk-data', remaining: size };
      } else if (state.kind === 'trailers') {
        const { line, next } = this.readLine(chunk, offset, state.text, MAX_CHUNK_LINE, 'trailer line');
        offset = next;
        if (line === undefined) {
          state.text = this.pendingLine;
          continue;
        }
        const full = line;
        state.text = '';
        state.lines++;
        if (state.lines > this.limits.maxHeaders) throw new HttpProtocolError(431, 'too many trailer fields');
        if (full === '') {
          ended = true;
        } else if (!this.acceptsTrailers) {
          throw new HttpProtocolError(400, 'request trailers are not relayed');
        } else if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(full) || !FIELD_VALUE.test(full)) {
          throw new HttpProtocolError(400, 'a trailer field is malformed');
        }
      } else {
        break;
      }
    }
    if (offset > start) emit({ type: 'body', bytes: chunk.subarray(start, offset) });
    if (ended) this.endMessage(emit);
    return offset;
  }

  private pendingLine = '';

  /**
   * Reads up to CRLF: returns the line (without CRLF) or, when the chunk ends first, undefined with
   * the partial text in `pendingLine` (prefixed by `carried`). A bare CR or LF is an error.
   */
  private readLine(
    chunk: Buffer,
    offset: number,
    carried: string,
    max: number,
    what: string,
  ): { line: string | undefined; next: number } {
    const text = carried;
    let i = offset;
    // A CR at the end of the previous piece waits here for its LF.
    if (text.endsWith('\r')) {
      if (chunk[i] !== 0x0a) throw new HttpProtocolError(400, `a ${what} has a bare CR`);
      return { line: text.slice(0, -1), next: i + 1 };
    }
    for (; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === 0x0a) throw new HttpProtocolError(400, `a ${what} ends with a bare LF`);
      if (byte === 0x0d) {
        if (i + 1 === chunk.length) {
          this.pendingLine = text + chunk.toString('latin1', offset, i + 1);
          return { line: undefined, next: i + 1 };
        }
        if (chunk[i + 1] !== 0x0a) throw new HttpProtocolError(400, `a ${what} has a bare CR`);
        return { line: text + chunk.toString('latin1', offset, i), next: i + 2 };
      }
      if (text.length + (i - offset) >= max) throw new HttpProtocolError(400, `a ${what} is too long`);
    }
    this.pendingLine = text + chunk.toString('latin1', offset, i);
    return { line: undefined, next: i };
  }

  private readHead(chunk: Buffer, offset: number, emit: Emit<H>): number {
    // Empty lines (CRLF) before a message are ignored (RFC 9112 section 2.2), a few of them.
    while (this.headLength === 0 && offset < chunk.length) {
      const byte = chunk[offset]!;
      if (this.leadingCr) {
        if (byte !== 0x0a) throw new HttpProtocolError(400, 'a bare CR before the start line');
        this.leadingCr = false;
      } else if (byte === 0x0d) {
        if (++this.leadingLines > 4)
          throw new HttpProtocolError(400, 'too many empty lines before a message');
        this.leadingCr = true;
      } else if (byte === 0x0a) {
        throw new HttpProtocolError(400, 'a bare LF before the start line');
      } else {
        break;
      }
      offset++;
    }
    if (offset === chunk.length) return offset;
    const searchFrom = Math.max(0, this.headLength - 3);
    const room = this.limits.maxHeadBytes - this.headLength;
    const piece = chunk.subarray(offset, offset + Math.min(chunk.length - offset, room + 1));
    this.appendHead(piece);
    const end = this.head.subarray(0, this.headLength).indexOf('\r\n\r\n', searchFrom, 'latin1');
    if (end < 0) {
      if (this.headLength > this.limits.maxHeadBytes) {
        throw new HttpProtocolError(431, `the message head is larger than ${this.limits.maxHeadBytes} bytes`);
      }
      return offset + piece.length;
    }
    if (end + 4 > this.limits.maxHeadBytes) {
      throw new HttpProtocolError(431, `the message head is larger than ${this.limits.maxHeadBytes} bytes`);
    }
    const consumed = end + 4 - (this.headLength - piece.length);
    const text = this.head.toString('latin1', 0, end);
    this.headLength = 0;
    this.leadingLines = 0;
    if (this.head.length > 16 * 1024) this.head = Buffer.alloc(0);
    const lines = text.split('\r\n');
    if (lines.length - 1 > this.limits.maxHeaders) {
      throw new HttpProtocolError(431, `the message has more than ${this.limits.maxHeaders} header fields`);
    }
    const { head, framing } = this.parseHead(lines);
    this.lastHead = head;
    emit({ type: 'head', head, framing });
    switch (framing.kind) {
      case 'none':
        this.endMessage(emit);
        break;
      case 'length':
        if (framing.length === 0) this.endMessage(emit);
        else this.state = { kind: 'length', remaining: framing.length };
        break;
      case 'chunked':
        this.state = { kind: 'chunk-size', line: '' };
        break;
      case 'close':
        this.state = { kind: 'close' };
        break;
      case 'upgrade':
        this.state = { kind: 'raw' };
        break;
    }
    return offset + consumed;
  }

  private leadingCr = false;
  private leadingLines = 0;

  private appendHead(piece: Buffer): void {
    const needed = this.headLength + piece.length;
    if (needed > this.head.length) {
      const grown = Buffer.allocUnsafe(
        Math.max(needed, Math.min(this.head.length * 2, this.limits.maxHeadBytes + 1), 1024),
      );
      this.head.copy(grown, 0, 0, this.headLength);
      this.head = grown;
    }
    piece.copy(this.head, this.headLength);
    this.headLength = needed;
  }

  private endMessage(emit: Emit<H>): void {
    const head = this.lastHead!;
    this.state = this.afterMessage(head);
    emit({ type: 'end' });
  }
}

function version(major: string, minor: string, status: number): '1.0' | '1.1' {
  if (major !== '1') throw new HttpProtocolError(status, `HTTP/${major}.${minor} is not supported`);
  return minor === '0' ? '1.0' : '1.1';
}

function parseHeaders(lines: readonly string[], errorStatus: number): HttpHeader[] {
  const headers: HttpHeader[] = [];
  for (const line of lines) {
    if (line.startsWith(' ') || line.startsWith('\t')) {
      throw new HttpProtocolError(errorStatus, 'folded header lines (obs-fold) are not accepted');
    }
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpProtocolError(errorStatus, 'a header field name is malformed');
    const value = line.slice(colon + 1);
    if (!FIELD_VALUE.test(value)) {
      throw new HttpProtocolError(errorStatus, `header ${name} has characters not allowed in a field value`);
    }
    headers.push([name, value.replace(/^[ \t]+|[ \t]+$/g, '')]);
  }
  return headers;
}

/** Content-Length, with repeated or listed values allowed only when they agree. */
function contentLength(headers: readonly HttpHeader[], errorStatus: number): number | undefined {
  const values = headerTokens(headers, 'content-length');
  if (values.length === 0) return undefined;
  if (values.some((v) => !/^\d{1,15}$/.test(v)) || new Set(values.map(Number)).size !== 1) {
    throw new HttpProtocolError(
      errorStatus,
      'Content-Length is malformed or given twice with different values',
    );
  }
  return Number(values[0]);
}

/** Parses what clients send: request heads, with the body framing a server must apply. */
export class HttpRequestParser extends HttpMessageParser<RequestHead> {
  protected override readonly acceptsTrailers = false;

  protected parseHead(lines: string[]): { head: RequestHead; framing: BodyFraming } {
    const match = REQUEST_LINE.exec(lines[0] ?? '');
    if (!match) throw new HttpProtocolError(400, 'the request line is malformed');
    const [, method, target, major, minor] = match as unknown as [string, string, string, string, string];
    const head: RequestHead = {
      kind: 'request',
      method,
      target,
      version: version(major, minor, 505),
      headers: parseHeaders(lines.slice(1), 400),
    };
    if (method === 'CONNECT') throw new HttpProtocolError(501, 'CONNECT is not relayed');
    // Origin-form, absolute-form, or `*` for OPTIONS (RFC 9112 section 3.2): anything else would be
    // glued to the target's base path as it came (`/api` + `admin`), read by each server its own way.
    if (target === '*' ? method !== 'OPTIONS' : !target.startsWith('/') && !ABSOLUTE_TARGET.test(target)) {
      throw new HttpProtocolError(400, 'the request target is not a path, an absolute URL, or * (OPTIONS)');
    }
    const length = contentLength(head.headers, 400);
    const codings = headerTokens(head.headers, 'transfer-encoding');
    if (codings.length > 0) {
      if (length !== undefined) {
        throw new HttpProtocolError(
          400,
          'a request must not carry both Transfer-Encoding and Content-Length',
        );
      }
      if (head.version === '1.0')
        throw new HttpProtocolError(400, 'Transfer-Encoding in an HTTP/1.0 request');
      // Servers disagree on codings before chunked (Go refuses them, others decode or ignore
      // them): only the one reading every server shares is relayed.
      if (codings.length !== 1 || codings[0] !== 'chunked') {
        throw new HttpProtocolError(501, 'a request body must be chunked, with no other transfer coding');
      }
      return { head, framing: { kind: 'chunked' } };
    }
    return { head, framing: length ? { kind: 'length', length } : { kind: 'none' } };
  }

  protected override afterMessage(head: RequestHead): State {
    return requestsUpgrade(head) ? { kind: 'held', bytes: [], size: 0 } : { kind: 'head' };
  }

  /**
   * The response to an upgrade request arrived: if the target switched protocols, the held bytes
   * (and all later ones) are raw; otherwise they are the next requests.
   */
  upgradeAnswered(switched: boolean, emit: Emit<RequestHead>): void {
    const state = this.current;
    if (state.kind !== 'held') return;
    this.setState(switched ? { kind: 'raw' } : { kind: 'head' });
    for (const bytes of state.bytes) this.parse(bytes, emit);
  }
}

/**
 * Parses what servers send. The framing of a response depends on the request it answers (HEAD has
 * no body), so the relay announces each request with `expect` before its response arrives.
 */
export class HttpResponseParser extends HttpMessageParser<ResponseHead> {
  private readonly methods: string[] = [];

  expect(method: string): void {
    this.methods.push(method);
  }

  protected parseHead(lines: string[]): { head: ResponseHead; framing: BodyFraming } {
    const match = STATUS_LINE.exec(lines[0] ?? '');
    if (!match) throw new HttpProtocolError(502, 'the status line is malformed');
    const [, major, minor, code, reason] = match as unknown as [string, string, string, string, string?];
    const status = Number(code);
    const head: ResponseHead = {
      kind: 'response',
      version: version(major, minor, 502),
      status,
      reason: reason ?? '',
      headers: parseHeaders(lines.slice(1), 502),
    };
    if (status < 100) throw new HttpProtocolError(502, `status ${status} is not an HTTP status`);
    // Interim responses (100 Continue, 103 Early Hints) come before the real one and have no body.
    if (status < 200 && status !== 101) return { head, framing: { kind: 'none' } };
    const method = this.methods.shift();
    if (method === undefined)
      throw new HttpProtocolError(502, 'a response arrived that no request asked for');
    if (status === 101) return { head, framing: { kind: 'upgrade' } };
    if (method === 'HEAD' || status === 204 || status === 304) return { head, framing: { kind: 'none' } };
    const codings = headerTokens(head.headers, 'transfer-encoding');
    if (codings.length > 0) {
      return {
        head,
        framing: codings[codings.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' },
      };
    }
    const length = contentLength(head.headers, 502);
    return { head, framing: length === undefined ? { kind: 'close' } : { kind: 'length', length } };
  }
}
