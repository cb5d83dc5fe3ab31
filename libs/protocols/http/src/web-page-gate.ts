import type { GateVerdict } from '@tollgate/protocol-tcp';
import { foreignPageRequest } from './foreign-page-request';
import { HttpRequestParser } from './http-message.parser';
import { HttpProtocolError } from './http-protocol.error';
import type { RequestHead } from './http-messages';

/** Longest first line looked at; a longer one is no browser's request line to a loopback port. */
const MAX_REQUEST_LINE = 16 * 1024;
/** Longest head held; a browser's is far smaller (its cookies for 127.0.0.1 included). */
const MAX_HEAD = 64 * 1024;
const TOKEN_CHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/;

/**
 * A tcp session's first client bytes, read as a web page's request would be: `tollgate connect`
 * listens on 127.0.0.1 and any page the user's browser shows can send to it, a form POST whose body
 * is another protocol's commands (Redis, SMTP, memcached: cross-protocol requests) or, by a name of
 * its own pointed at 127.0.0.1, requests whose answers it reads (DNS rebinding). A request whose head
 * shows a page of another site (foreignPageRequest: Host, Origin, Sec-Fetch-Site) is refused with a
 * 403 and none of it reaches the target; anything that is not an HTTP/1 request line passes at once
 * (decided on the first line, so a protocol whose client speaks first is held only until its first
 * line ends, and one whose server speaks first not at all). No I/O.
 */
export function webPageGate(bytes: Buffer): GateVerdict {
  const newline = bytes.indexOf(0x0a);
  const line = bytes.subarray(0, newline === -1 ? Math.min(bytes.length, MAX_REQUEST_LINE + 1) : newline);
  if (!couldStartRequestLine(line.toString('latin1').replace(/\r$/, ''), newline !== -1)) {
    return { verdict: 'pass' };
  }
  if (newline === -1) return line.length > MAX_REQUEST_LINE ? { verdict: 'pass' } : { verdict: 'more' };
  let head: RequestHead | undefined;
  try {
    const parser = new HttpRequestParser({ maxHeadBytes: MAX_HEAD, maxHeaders: 512 });
    parser.parse(bytes, (event) => {
      if (event.type === 'head') head ??= event.head;
    });
  } catch (error) {
    // What follows a whole head (a body, pipelined bytes) is not this gate's business.
    if (!head) {
      if (error instanceof HttpProtocolError && error.status === 431) {
        return refusal('an HTTP request head over 64 KiB');
      }
      // Not a well-formed HTTP/1 request head (a browser's is): not for this gate to read further.
      return { verdict: 'pass' };
    }
  }
  if (!head)
    return bytes.length > MAX_HEAD ? refusal('an HTTP request head over 64 KiB') : { verdict: 'more' };
  const foreign = foreignPageRequest(head);
  return foreign ? refusal(foreign) : { verdict: 'pass' };
}

function refusal(reason: string): GateVerdict {
  const body = `${reason}\n`;
  return {
    verdict: 'refuse',
    reason,
    answer: Buffer.from(
      `HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    ),
  };
}

/**
 * Whether `line` is (complete) or may become (not yet ended) an HTTP/1 request line:
 * `METHOD SP target SP HTTP/d.d`.
 */
function couldStartRequestLine(line: string, complete: boolean): boolean {
  if (complete) return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [\x21-\x7e]+ HTTP\/\d\.\d$/.test(line);
  let i = 0;
  while (i < line.length && TOKEN_CHAR.test(line[i]!)) i++;
  if (i === line.length) return i > 0 || line.length === 0;
  if (i === 0 || line[i] !== ' ') return false;
  const rest = line.slice(i + 1);
  const space = rest.indexOf(' ');
  if (space === -1) return /^[\x21-\x7e]*$/.test(rest);
  if (!/^[\x21-\x7e]+$/.test(rest.slice(0, space))) return false;
  const version = rest.slice(space + 1);
  return /^(H(T(T(P(\/(\d(\.\d?)?)?)?)?)?)?)?$/.test(version);
}
