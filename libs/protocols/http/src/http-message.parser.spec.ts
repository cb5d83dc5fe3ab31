import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HttpRequestParser, HttpResponseParser } from './http-message.parser';
import type { HttpEvent } from './http-messages';
import { HttpProtocolError } from './http-protocol.error';

/** What a stream of events says, in a form that does not depend on how the bytes were split. */
function summarize(events: readonly HttpEvent[]): unknown[] {
  const out: unknown[] = [];
  for (const event of events) {
    const tail = out[out.length - 1];
    const last =
      typeof tail === 'object' && tail !== null ? (tail as { body?: string; raw?: string }) : undefined;
    if (event.type === 'body') {
      if (last && 'body' in last) last.body += event.bytes.toString('latin1');
      else out.push({ body: event.bytes.toString('latin1') });
    } else if (event.type === 'raw') {
      if (last && 'raw' in last) last.raw += event.bytes.toString('latin1');
      else out.push({ raw: event.bytes.toString('latin1') });
    } else if (event.type === 'head') {
      out.push({ head: event.head, framing: event.framing });
    } else {
      out.push('end');
    }
  }
  return out.filter(
    (e) => !(typeof e === 'object' && e !== null && 'body' in e && (e as { body: string }).body === ''),
  );
}

function parseRequests(text: string, cuts: readonly number[] = []): unknown[] {
  const parser = new HttpRequestParser();
  const events: HttpEvent[] = [];
  const bytes = Buffer.from(text, 'latin1');
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.parse(bytes.subarray(start, cut), (e) => events.push(e));
    start = cut;
  }
  parser.finish((e) => events.push(e));
  return summarize(events);
}

function parseResponses(text: string, methods: readonly string[], cuts: readonly number[] = []): unknown[] {
  const parser = new HttpResponseParser();
  for (const method of methods) parser.expect(method);
  const events: HttpEvent[] = [];
  const bytes = Buffer.from(text, 'latin1');
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    parser.parse(bytes.subarray(start, cut), (e) => events.push(e));
    start = cut;
  }
  parser.finish((e) => events.push(e));
  return summarize(events);
}

const errorOf = (run: () => unknown): HttpProtocolError => {
  try {
    run();
  } catch (error) {
    if (error instanceof HttpProtocolError) return error;
    throw error;
  }
  throw new Error('expected an HttpProtocolError');
};

const REQUESTS = [
  'GET /a?b=1 HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n',
  'POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
  'PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\n\r\n',
  'DELETE /d HTTP/1.0\r\n\r\n',
];

const RESPONSES: [string, string][] = [
  ['GET', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc'],
  ['HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'],
  ['GET', 'HTTP/1.1 204 No Content\r\n\r\n'],
  [
    'GET',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  ],
];

describe('HttpRequestParser', () => {
  it('reads keep-alive requests with each kind of body, and the same at every split point', () => {
    const text = REQUESTS.join('');
    const whole = parseRequests(text);
    expect(whole).toMatchObject([
      { head: { method: 'GET', target: '/a?b=1', version: '1.1' }, framing: { kind: 'none' } },
      'end',
      { head: { method: 'POST' }, framing: { kind: 'length', length: 5 } },
      { body: 'hello' },
      'end',
      { head: { method: 'PUT' }, framing: { kind: 'chunked' } },
      // The body as it was on the wire: a relay forwards it unchanged.
      { body: '5;ext=1\r\nhello\r\n0\r\n\r\n' },
      'end',
      { head: { method: 'DELETE', version: '1.0', headers: [] } },
      'end',
    ]);
    for (let cut = 1; cut < text.length; cut++) {
      expect(parseRequests(text, [cut])).toEqual(whole);
    }
  });

  it('reads the same events fed a byte at a time', () => {
    const text = REQUESTS.join('');
    const cuts = Array.from({ length: text.length - 1 }, (_, i) => i + 1);
    expect(parseRequests(text, cuts)).toEqual(parseRequests(text));
  });

  it('keeps header names as sent and trims values', () => {
    const [head] = parseRequests('GET / HTTP/1.1\r\nX-Mixed-Case:   v a l  \r\nEmpty:\r\n\r\n') as [
      { head: { headers: unknown } },
    ];
    expect(head.head.headers).toEqual([
      ['X-Mixed-Case', 'v a l'],
      ['Empty', ''],
    ]);
  });

  it.each([
    [
      'Content-Length with Transfer-Encoding',
      'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
      400,
    ],
    [
      'two different Content-Lengths',
      'POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n',
      400,
    ],
    ['a signed Content-Length', 'POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n', 400],
    ['chunked not last', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 501],
    ['a coding before chunked', 'POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n', 501],
    [
      'a request trailer (servers that merge it would read it as a header)',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nAuthorization: Bearer x\r\n\r\n',
      400,
    ],
    ['a target that is not a path', 'GET admin HTTP/1.1\r\n\r\n', 400],
    ['* with another method than OPTIONS', 'GET * HTTP/1.1\r\n\r\n', 400],
    [
      'chunked twice',
      'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
      501,
    ],
    ['whitespace before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
    ['a folded header', 'GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n', 400],
    ['a bare LF in a header', 'GET / HTTP/1.1\r\nX: a\nY: b\r\n\r\n', 400],
    ['a bare CR in a header', 'GET / HTTP/1.1\r\nX: a\rY: b\r\n\r\n', 400],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nX: a\0b\r\n\r\n', 400],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\n\r\n', 505],
    ['a space in the target', 'GET /a b HTTP/1.1\r\n\r\n', 400],
    ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\n\r\n', 501],
    ['a chunk size that is not hex', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 400],
    ['a chunk without its CRLF', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc', 400],
    ['Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
  ])('refuses %s', (_what, text, status) => {
    expect(errorOf(() => parseRequests(text)).status).toBe(status);
  });

  it('refuses a head over the limit with 431, however it is split, without reading on', () => {
    const parser = new HttpRequestParser({ maxHeadBytes: 1024, maxHeaders: 100 });
    const huge = Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(2000)}\r\n\r\n`);
    expect(errorOf(() => parser.parse(huge, () => undefined)).status).toBe(431);
    const dripped = new HttpRequestParser({ maxHeadBytes: 1024, maxHeaders: 100 });
    const error = errorOf(() => {
      for (let i = 0; i < huge.length; i++) dripped.parse(huge.subarray(i, i + 1), () => undefined);
    });
    expect(error.status).toBe(431);
  });

  it('refuses more header fields than the limit with 431', () => {
    const parser = new HttpRequestParser({ maxHeadBytes: 65536, maxHeaders: 10 });
    const text = `GET / HTTP/1.1\r\n${'X: y\r\n'.repeat(11)}\r\n`;
    expect(errorOf(() => parser.parse(Buffer.from(text), () => undefined)).status).toBe(431);
  });

  it('holds the bytes after an upgrade request until the response says whether the protocol switched', () => {
    const upgrade = 'GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
    const frames = '\x81\x05hello';
    const switched = new HttpRequestParser();
    const events: HttpEvent[] = [];
    switched.parse(Buffer.from(upgrade + frames, 'latin1'), (e) => events.push(e));
    expect(summarize(events)).toMatchObject([{ head: { target: '/ws' } }, 'end']);
    switched.upgradeAnswered(true, (e) => events.push(e));
    switched.parse(Buffer.from('more'), (e) => events.push(e));
    expect(summarize(events).slice(2)).toEqual([{ raw: `${frames}more` }]);

    const refused = new HttpRequestParser();
    const later: HttpEvent[] = [];
    refused.parse(Buffer.from(`${upgrade}GET /next HTTP/1.1\r\n\r\n`), (e) => later.push(e));
    refused.upgradeAnswered(false, (e) => later.push(e));
    expect(summarize(later)).toMatchObject([
      { head: { target: '/ws' } },
      'end',
      { head: { target: '/next' } },
      'end',
    ]);
  });

  it('reports a connection that ends in the middle of a message', () => {
    expect(errorOf(() => parseRequests('POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc')).status).toBe(400);
    expect(errorOf(() => parseRequests('GET / HTT')).status).toBe(400);
  });
});

describe('HttpResponseParser', () => {
  it('frames each response by the request it answers, at every split point', () => {
    const text = RESPONSES.map(([, r]) => r).join('');
    const methods = RESPONSES.map(([m]) => m);
    const whole = parseResponses(text, methods);
    expect(whole).toMatchObject([
      { head: { status: 200 }, framing: { kind: 'length', length: 3 } },
      { body: 'abc' },
      'end',
      // HEAD: the Content-Length describes the GET's body; none follows.
      { head: { status: 200 }, framing: { kind: 'none' } },
      'end',
      { head: { status: 204 }, framing: { kind: 'none' } },
      'end',
      { head: { status: 100 }, framing: { kind: 'none' } },
      'end',
      { head: { status: 200 }, framing: { kind: 'chunked' } },
      { body: '3\r\nabc\r\n0\r\n\r\n' },
      'end',
    ]);
    for (let cut = 1; cut < text.length; cut++) expect(parseResponses(text, methods, [cut])).toEqual(whole);
  });

  it('reads a body delimited by the connection closing, and bytes after 101 as raw', () => {
    expect(parseResponses('HTTP/1.0 200 OK\r\n\r\nstream...', ['GET'])).toEqual([
      expect.objectContaining({ framing: { kind: 'close' } }),
      { body: 'stream...' },
      'end',
    ]);
    expect(
      parseResponses('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x82\x01x', ['GET']),
    ).toEqual([expect.objectContaining({ framing: { kind: 'upgrade' } }), { raw: '\x82\x01x' }]);
  });

  it('refuses a response nobody asked for and a malformed status line with 502', () => {
    expect(errorOf(() => parseResponses('HTTP/1.1 200 OK\r\n\r\n', [])).status).toBe(502);
    expect(errorOf(() => parseResponses('HTTP/1.1 20 OK\r\n\r\n', ['GET'])).status).toBe(502);
  });
});

describe('parser fuzzing (fast-check)', () => {
  const corpus = Buffer.from(REQUESTS.join(''), 'latin1');
  const responseCorpus = Buffer.from(RESPONSES.map(([, r]) => r).join(''), 'latin1');
  const mutated = (base: Buffer) =>
    fc
      .array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
      .map((edits) => {
        const copy = Buffer.from(base);
        for (const [at, value] of edits) copy[at] = value;
        return copy;
      });

  const survives = (feed: (chunk: Buffer) => void, bytes: Buffer, cuts: number[]) => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    let start = 0;
    try {
      for (const point of [...points, bytes.length]) {
        feed(bytes.subarray(start, point));
        start = point;
      }
    } catch (error) {
      if (!(error instanceof HttpProtocolError)) throw error;
    }
    return true;
  };

  it('the request parser throws nothing but HttpProtocolError on random and mutated bytes', () => {
    const request = () => {
      const parser = new HttpRequestParser();
      return (chunk: Buffer) => parser.parse(chunk, () => undefined);
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          mutated(corpus),
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        (bytes, cuts) => survives(request(), bytes, cuts),
      ),
      { numRuns: 2000 },
    );
  });

  it('the response parser throws nothing but HttpProtocolError on random and mutated bytes', () => {
    const response = () => {
      const parser = new HttpResponseParser();
      for (let i = 0; i < 8; i++) parser.expect('GET');
      return (chunk: Buffer) => parser.parse(chunk, () => undefined);
    };
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 512 }).map((a) => Buffer.from(a)),
          mutated(responseCorpus),
        ),
        fc.array(fc.nat(), { maxLength: 6 }),
        (bytes, cuts) => survives(response(), bytes, cuts),
      ),
      { numRuns: 2000 },
    );
  });

  it('a body is forwarded byte for byte: the body events of any chunked message are exactly its wire bytes', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        (chunks, cuts) => {
          const body = Buffer.concat([
            ...chunks.flatMap((c) => [
              Buffer.from(`${c.length.toString(16)}\r\n`),
              Buffer.from(c),
              Buffer.from('\r\n'),
            ]),
            Buffer.from('0\r\n\r\n'),
          ]);
          const message = Buffer.concat([
            Buffer.from('POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'),
            body,
          ]);
          const parser = new HttpRequestParser();
          const seen: Buffer[] = [];
          let ended = 0;
          const points = [...new Set(cuts.map((c) => c % (message.length + 1)))].sort((a, b) => a - b);
          let start = 0;
          for (const point of [...points, message.length]) {
            parser.parse(message.subarray(start, point), (e) => {
              if (e.type === 'body') seen.push(Buffer.from(e.bytes));
              if (e.type === 'end') ended++;
            });
            start = point;
          }
          return ended === 1 && Buffer.concat(seen).equals(body);
        },
      ),
      { numRuns: 500 },
    );
  });
});
