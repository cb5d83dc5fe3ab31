import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { forwardedRequest, type ForwardingRules } from './forwarded-request';
import { HttpProtocolError } from './http-protocol.error';
import type { HttpHeader, RequestHead } from './http-messages';

const rules: ForwardingRules = {
  host: 'api.internal:8443',
  basePath: '/base',
  inject: [
    ['Authorization', 'Bearer agent-secret'],
    ['X-Api-Key', 'key-1'],
  ],
};

const request = (headers: HttpHeader[], target = '/v1/items?x=1'): RequestHead => ({
  kind: 'request',
  method: 'GET',
  target,
  version: '1.1',
  headers,
});

describe('forwardedRequest', () => {
  it('sends the target its Host and base path and the agent credential, never the caller’s', () => {
    const out = forwardedRequest(
      request([
        ['Host', '127.0.0.1:8081'],
        ['authorization', 'Bearer caller'],
        ['x-api-key', 'caller-key'],
        // What CGI-style servers (Rack on Puma before 6.4.3, WSGI) read as X-Api-Key too.
        ['X_Api_Key', 'caller-key'],
        ['x-api_key', 'caller-key'],
        ['Accept', 'application/json'],
      ]),
      rules,
    );
    expect(out.target).toBe('/base/v1/items?x=1');
    expect(out.headers).toEqual([
      ['Host', 'api.internal:8443'],
      ['Accept', 'application/json'],
      ['Authorization', 'Bearer agent-secret'],
      ['X-Api-Key', 'key-1'],
    ]);
  });

  it('drops hop-by-hop headers and those the caller’s Connection names, keeps an upgrade', () => {
    const out = forwardedRequest(
      request([
        ['Connection', 'Upgrade, X-Secret-Hop'],
        ['Upgrade', 'websocket'],
        ['X-Secret-Hop', 'a'],
        ['Keep-Alive', 'timeout=5'],
        ['Proxy-Authorization', 'Basic eA=='],
        ['Sec-WebSocket-Key', 'k'],
      ]),
      { ...rules, inject: [] },
    );
    expect(out.headers).toEqual([
      ['Host', 'api.internal:8443'],
      ['Sec-WebSocket-Key', 'k'],
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
    ]);
  });

  it('drops what a caller says about the client behind a proxy: the target trusts its proxy for it', () => {
    // A target that trusts the proxy in front of it (Express's trust proxy, Rails' RemoteIp, Spring's
    // ForwardedHeaderFilter, ASP.NET's ForwardedHeaders; kube-apiserver's audit source IPs) would take
    // the caller's word for its address (an allowlist of 127.0.0.1), host or scheme.
    const out = forwardedRequest(
      request([
        ['X-Forwarded-For', '127.0.0.1'],
        ['x-forwarded-host', 'evil.example'],
        ['X-Forwarded-Proto', 'https'],
        ['X-Forwarded-Prefix', '/admin'],
        ['Forwarded', 'for=127.0.0.1;host=evil.example'],
        ['X-Real-IP', '127.0.0.1'],
        ['X_Forwarded_For', '127.0.0.1'],
        ['X-Client-IP', '127.0.0.1'],
        ['True-Client-IP', '127.0.0.1'],
        ['Accept', '*/*'],
      ]),
      { ...rules, inject: [] },
    );
    expect(out.headers).toEqual([
      ['Host', 'api.internal:8443'],
      ['Accept', '*/*'],
    ]);
  });

  it('keeps the body’s framing whatever Connection names, and offers only the allowed upgrades', () => {
    const framed = forwardedRequest(
      request([
        ['Connection', 'Content-Length, Transfer-Encoding'],
        ['Content-Length', '12, 12'],
        ['content-length', '12'],
      ]),
      { ...rules, inject: [] },
    );
    expect(framed.headers).toEqual([
      ['Host', 'api.internal:8443'],
      ['Content-Length', '12'],
    ]);
    const h2c = forwardedRequest(
      request([
        ['Connection', 'Upgrade, HTTP2-Settings'],
        ['Upgrade', 'h2c'],
        ['HTTP2-Settings', 'AAMAAABkAAQCAAAAAAIAAAAA'],
      ]),
      { ...rules, inject: [] },
    );
    expect(h2c.headers).toEqual([['Host', 'api.internal:8443']]);
    const spdy = request([
      ['Connection', 'Upgrade'],
      ['Upgrade', 'SPDY/3.1'],
    ]);
    expect(forwardedRequest(spdy, { ...rules, inject: [] }).headers).toEqual([['Host', 'api.internal:8443']]);
    expect(
      forwardedRequest(spdy, { ...rules, inject: [], upgrades: ['websocket', 'spdy/3.1'] }).headers,
    ).toEqual([
      ['Host', 'api.internal:8443'],
      ['Connection', 'Upgrade'],
      ['Upgrade', 'SPDY/3.1'],
    ]);
  });

  it('whatever headers a caller sends, the injected names carry exactly the agent’s values', () => {
    const name = fc.constantFrom(
      'Authorization',
      'AUTHORIZATION',
      'authorization',
      'X-Api-Key',
      'x-API-key',
      'Accept',
      'Connection',
      'Host',
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(name, fc.string({ maxLength: 20 })), { maxLength: 12 }), (headers) => {
        let out: RequestHead;
        try {
          out = forwardedRequest(request(headers), rules);
        } catch (error) {
          // A Host that is not the listener's is refused whole (a web page's request): nothing goes on.
          return error instanceof HttpProtocolError && error.status === 403;
        }
        const values = (n: string) => out.headers.filter(([h]) => h.toLowerCase() === n).map(([, v]) => v);
        return (
          JSON.stringify(values('authorization')) === JSON.stringify(['Bearer agent-secret']) &&
          JSON.stringify(values('x-api-key')) === JSON.stringify(['key-1']) &&
          JSON.stringify(values('host')) === JSON.stringify(['api.internal:8443'])
        );
      }),
      { numRuns: 500 },
    );
  });

  it('turns an absolute-form target into a path under the base', () => {
    expect(forwardedRequest(request([], 'http://elsewhere/x?y'), rules).target).toBe('/base/x?y');
  });
});
