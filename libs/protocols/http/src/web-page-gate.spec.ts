import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { webPageGate } from './web-page-gate';

const verdictOf = (text: string | Buffer) =>
  webPageGate(Buffer.isBuffer(text) ? text : Buffer.from(text, 'latin1')).verdict;

/** What a browser sends for a page of evil.example: a form POST, a rebinding fetch, an image. */
const FROM_PAGES = [
  'POST / HTTP/1.1\r\nHost: 127.0.0.1:8999\r\nOrigin: https://evil.example\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nFLUSHALL\r\n',
  'POST / HTTP/1.1\r\nHost: 127.0.0.1:8999\r\nOrigin: null\r\nContent-Length: 0\r\n\r\n',
  // A body longer than its Content-Length: what follows is no request, the head still decides.
  'POST / HTTP/1.1\r\nHost: 127.0.0.1:8999\r\nOrigin: https://evil.example\r\nContent-Length: 2\r\n\r\nPING\r\n\r\n',
  'GET /keys HTTP/1.1\r\nHost: evil.example:8999\r\nAccept: */*\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: localhost:8999\r\nSec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\n\r\n',
];

describe('webPageGate: a tcp session’s first bytes as a web page’s request', () => {
  it('refuses what a page of another site sends, with a 403 that says why', () => {
    for (const request of FROM_PAGES) {
      const said = webPageGate(Buffer.from(request));
      expect(said.verdict, request).toBe('refuse');
      if (said.verdict !== 'refuse') continue;
      expect(said.reason).toMatch(/a web page cannot use tollgate connect/);
      expect(said.answer!.toString()).toMatch(
        /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*\r\n\r\na web page cannot/,
      );
    }
  });

  it('holds a request split anywhere until its head is whole, and never passes a page’s before that', () => {
    for (const request of FROM_PAGES) {
      const bytes = Buffer.from(request);
      const headEnd = bytes.indexOf('\r\n\r\n') + 4;
      for (let cut = 1; cut < bytes.length; cut++) {
        expect(verdictOf(bytes.subarray(0, cut)), `${JSON.stringify(request)} cut at ${cut}`).toBe(
          cut < headEnd ? 'more' : 'refuse',
        );
      }
    }
  });

  it("passes the user's own clients and other protocols, the latter at their first bytes or first line", () => {
    expect(verdictOf('GET /x HTTP/1.1\r\nHost: 127.0.0.1:8999\r\nUser-Agent: curl/8.5\r\n\r\n')).toBe('pass');
    expect(verdictOf('GET / HTTP/1.1\r\nHost: localhost\r\nSec-Fetch-Site: none\r\n\r\n')).toBe('pass');
    expect(verdictOf('GET / HTTP/1.0\r\n\r\n')).toBe('pass');
    for (const other of [
      'SET k v\r\n', // Redis inline
      '*1\r\n$4\r\nPING\r\n', // RESP
      'EHLO client\r\n', // SMTP
      'get key\r\n', // memcached
      '\x00\x00\x00\x08\x04\xd2\x16\x2f', // PostgreSQL SSLRequest
      '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', // TLS ClientHello
      'SSH-2.0-OpenSSH_9.2\r\n',
    ]) {
      expect(verdictOf(other), JSON.stringify(other)).toBe('pass');
    }
  });

  it('refuses an HTTP head that never ends within 64 KiB, and passes a first line that is no request line', () => {
    const endless = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ${'a'.repeat(70 * 1024)}`;
    expect(verdictOf(endless)).toBe('refuse');
    expect(verdictOf(`GET ${'/a'.repeat(9000)}`)).toBe('pass');
  });

  it('never throws, and refuses or passes every complete head (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 60 }), (raw, header) => {
        expect(() => webPageGate(Buffer.from(raw))).not.toThrow();
        const head = `GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n${header.replace(/\r|\n/g, '')}\r\n\r\n`;
        expect(['pass', 'refuse']).toContain(verdictOf(Buffer.from(head)));
      }),
      { numRuns: 500, seed: 6 },
    );
  });
});
