import { describe, expect, it } from 'vitest';
import { decideCommand, parsePolicy, type Policy } from '@tollgate/policy';
import type { RequestHead } from '../http-messages';
import { httpRequestFacts } from './http.engine';

const parsed = parsePolicy(
  `version: 1
guardrails:
  - name: no-deletes
    match: {protocol: http}
    deny: {http: {methods: [DELETE]}}
`,
  'test.yaml',
);
if (!parsed.ok) throw new Error('bad test policy');
const policy: Policy = parsed.policy;
const web = { name: 'api', protocol: 'http', tags: {} };
const subject = { subject: 'user:dev', groups: [], actorChain: [] };

const head = (method: string, target: string, headers: [string, string][] = []): RequestHead => ({
  kind: 'request',
  method,
  target,
  version: '1.1',
  headers,
});

const decide = (request: RequestHead, readOnly = false) =>
  decideCommand(policy, { subject, connection: web, readOnly }, httpRequestFacts(request)).decision;

describe('httpRequestFacts: what the application will run, not only what the request line says', () => {
  it.each<[string, RequestHead]>([
    ['X-HTTP-Method-Override', head('POST', '/users/1', [['X-HTTP-Method-Override', 'DELETE']])],
    ['X-HTTP-Method (any case)', head('POST', '/users/1', [['x-http-method', 'delete']])],
    ['X-Method-Override', head('POST', '/users/1', [['X-Method-Override', 'DELETE']])],
    ['a _method query parameter', head('POST', '/users/1?_method=DELETE')],
    ['an override on a GET', head('GET', '/users/1', [['X-HTTP-Method-Override', 'DELETE']])],
    // CGI-style servers key headers as HTTP_X_HTTP_METHOD_OVERRIDE, `_` and `-` alike (Rack on Puma
    // before 6.4.3, WSGI on gunicorn before 22): Rack::MethodOverride runs this POST as a DELETE.
    ['X_HTTP_Method_Override', head('POST', '/users/1', [['X_HTTP_Method_Override', 'DELETE']])],
    ['X-HTTP_Method', head('POST', '/users/1', [['X-HTTP_Method', 'DELETE']])],
    // PHP reads parameter names with leading spaces dropped, then `.` and ` ` as `_`: Symfony's and
    // Laravel's _method is `.method`, ` _method`, `  .method` there.
    ['a .method query parameter (PHP: _method)', head('POST', '/users/1?.method=DELETE')],
    ['a %20_method query parameter', head('POST', '/users/1?%20_method=DELETE')],
    ['a %20.method query parameter', head('POST', '/users/1?%20%20.method=DELETE')],
  ])('a request that names another method by %s is denied where a rule applies', (_how, request) => {
    const facts = httpRequestFacts(request);
    expect(facts.kind === 'http' ? facts.parseError : undefined).toContain('method override');
    expect(decide(request)).toBe('deny');
  });

  it.each<[string, RequestHead]>([
    ['a WebDAV MOVE’s Destination', head('MOVE', '/public/a', [['Destination', 'http://h/admin/a']])],
    ['a WebDAV COPY’s Destination', head('COPY', '/public/a', [['destination', '/admin/a']])],
    ['X-Original-URL (IIS, Symfony)', head('GET', '/', [['X-Original-URL', '/admin/users']])],
    ['X-Rewrite-URL', head('GET', '/', [['X-Rewrite-URL', '/admin']])],
    [
      'X_Original_URL (HTTP_X_ORIGINAL_URL to a CGI-style server)',
      head('GET', '/', [['X_Original_URL', '/admin']]),
    ],
  ])('a request that names a second path by %s is denied where a rule applies', (_how, request) => {
    const facts = httpRequestFacts(request);
    expect(facts.kind === 'http' ? facts.parseError : undefined).toContain('second path');
    expect(decide(request)).toBe('deny');
  });

  it('an override on a GET is no read in a read-only session', () => {
    expect(decide(head('GET', '/users', [['X-HTTP-Method-Override', 'DELETE']]), true)).toBe('deny');
    expect(decide(head('GET', '/users'), true)).toBe('allow');
  });

  it("an override that names the request's own method changes nothing", () => {
    const request = head('POST', '/users?_method=post', [['X-HTTP-Method-Override', ' POST ']]);
    expect(httpRequestFacts(request)).toEqual({ kind: 'http', method: 'POST', path: '/users' });
    expect(decide(request)).toBe('allow');
  });

  it('a WebSocket upgrade is no read in a read-only session: what it carries after the switch is not read', () => {
    const upgrade = head('GET', '/live', [
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
    ]);
    expect(httpRequestFacts(upgrade)).toMatchObject({ upgrade: 'websocket' });
    expect(decide(upgrade, true)).toBe('deny');
    expect(decide(upgrade, false)).toBe('allow');
    // An h2c offer is not passed on (the request goes on as a plain GET): a read.
    expect(
      decide(
        head('GET', '/live', [
          ['Connection', 'Upgrade'],
          ['Upgrade', 'h2c'],
        ]),
        true,
      ),
    ).toBe('allow');
  });
});
