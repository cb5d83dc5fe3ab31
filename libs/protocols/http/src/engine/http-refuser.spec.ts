import { describe, expect, it } from 'vitest';
import { httpConnectionRefuser } from './http-refuser';

describe('httpConnectionRefuser', () => {
  it('answers the request head, however split, with the refusal’s status and closes', () => {
    const dialogue = httpConnectionRefuser.refuseOpening({
      kind: 'denied',
      message: 'no role grants connect',
    });
    expect(dialogue.receive(Buffer.from('GET /x HTTP/1.1\r\nHo'))).toEqual({ done: false });
    const { reply, done } = dialogue.receive(Buffer.from('st: a\r\n\r\n'));
    expect(done).toBe(true);
    const text = reply!.toString();
    expect(text).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(text).toContain('Connection: close');
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({
      error: 'forbidden',
      message: 'tollgate: no role grants connect',
    });
  });

  it('names unavailable targets 502 and unknown connections 404, and answers garbage at once', () => {
    const unavailable = httpConnectionRefuser.refuseOpening({
      kind: 'unavailable',
      message: 'no agent online',
    });
    expect(unavailable.receive(Buffer.from('GET / HTTP/1.1\r\n\r\n')).reply!.toString()).toMatch(
      /^HTTP\/1\.1 502 /,
    );
    const missing = httpConnectionRefuser.refuseOpening({ kind: 'not-found', message: 'no such connection' });
    expect(missing.receive(Buffer.from('\x16\x03\x01garbage\r\n\r\n')).reply!.toString()).toMatch(
      /^HTTP\/1\.1 404 /,
    );
  });

  it('recognizes an HTTP request line', () => {
    expect(httpConnectionRefuser.recognizes!(Buffer.from('GET / HTTP/1.1'))).toBe(true);
    expect(httpConnectionRefuser.recognizes!(Buffer.from('\x16\x03'))).toBe(false);
  });
});
