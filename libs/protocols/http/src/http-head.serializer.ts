import type { HttpHeader, RequestHead, ResponseHead } from './http-messages';

function headerLines(headers: readonly HttpHeader[]): string {
  let text = '';
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return text;
}

/** The wire form of a request head (latin1, as HTTP/1.1 field values are octets). */
export function serializeRequestHead(head: RequestHead): Buffer {
  return Buffer.from(
    `${head.method} ${head.target} HTTP/${head.version}\r\n${headerLines(head.headers)}\r\n`,
    'latin1',
  );
}

export function serializeResponseHead(head: ResponseHead): Buffer {
  const reason = head.reason ? ` ${head.reason}` : ' ';
  return Buffer.from(
    `HTTP/${head.version} ${head.status}${reason}\r\n${headerLines(head.headers)}\r\n`,
    'latin1',
  );
}

/** A complete response with a body whose length is known (denials and errors the relay writes itself). */
export function serializeResponse(
  status: number,
  reason: string,
  headers: readonly HttpHeader[],
  body: Buffer,
): Buffer {
  const head: ResponseHead = {
    kind: 'response',
    version: '1.1',
    status,
    reason,
    headers: [...headers, ['Content-Length', String(body.length)]],
  };
  return Buffer.concat([serializeResponseHead(head), body]);
}
