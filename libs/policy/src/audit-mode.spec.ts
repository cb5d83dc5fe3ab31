import { describe, expect, it } from 'vitest';
import { auditModeFor, bodyRecordingFor, recordsContentType } from './audit-mode';
import { formatPolicyError, parsePolicy } from './parse-policy';

const subject = { subject: 'user:ana', groups: ['dev'], actorChain: [] };
const on = (name: string, tags: Record<string, string> = {}) => ({
  subject,
  connection: { name, protocol: 'postgres' as const, tags },
});

function policy(text: string) {
  const parsed = parsePolicy(`version: 1\n${text}`, 'policy.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.map(formatPolicyError).join('\n'));
  return parsed.policy;
}

describe('audit modes', () => {
  it('is edge without rules, gateway where a rule says so', () => {
    const p = policy(`audit:
  - name: strict-prod
    match: { connections: [tag:env=prod] }
    mode: gateway
`);
    expect(auditModeFor(policy(''), on('pg-dev'))).toBe('edge');
    expect(auditModeFor(p, on('pg-dev', { env: 'dev' }))).toBe('edge');
    expect(auditModeFor(p, on('pg-prod', { env: 'prod' }))).toBe('gateway');
  });

  it('lets the stricter mode win: a broad edge rule does not weaken a narrower gateway one', () => {
    const p = policy(`audit:
  - name: everything-edge
    mode: edge
  - name: ledger-strict
    match: { connections: [pg-ledger] }
    mode: gateway
`);
    expect(auditModeFor(p, on('pg-ledger'))).toBe('gateway');
    expect(auditModeFor(p, on('pg-other'))).toBe('edge');
  });

  it('names a misspelt mode, and a duplicate rule', () => {
    const errorsOf = (text: string) => {
      const parsed = parsePolicy(`version: 1\naudit:\n${text}`, 'policy.yaml');
      return parsed.ok ? [] : parsed.errors.map(formatPolicyError);
    };
    expect(errorsOf('  - name: a\n    mode: gatewya\n')).toEqual([
      expect.stringMatching(/^policy\.yaml:4:11: audit\[0\]\.mode: expected edge .* or gateway/),
    ]);
    expect(errorsOf('  - name: a\n    mode: edge\n  - name: a\n    mode: gateway\n')).toEqual([
      expect.stringMatching(/audit\[1\]\.name: duplicate name "a"/),
    ]);
  });
});

describe('body recording (audit bodies)', () => {
  const http = (name: string, tags: Record<string, string> = {}) => ({
    subject,
    connection: { name, protocol: 'http' as const, tags },
  });
  const errorsOf = (text: string) => {
    const parsed = parsePolicy(`version: 1\naudit:\n${text}`, 'policy.yaml');
    return parsed.ok ? [] : parsed.errors.map(formatPolicyError);
  };

  it('records no bodies by default, nor under rules that only set a mode', () => {
    expect(bodyRecordingFor(policy(''), http('api'))).toBeUndefined();
    expect(bodyRecordingFor(policy('audit:\n  - name: s\n    mode: gateway\n'), http('api'))).toBeUndefined();
  });

  it('records what a matching rule says, with the defaults filled in and the mode left edge', () => {
    const p = policy(`audit:
  - name: api-bodies
    match: { connections: [api] }
    bodies: { request: true }
`);
    expect(p.audit[0]).toMatchObject({ mode: 'edge' });
    expect(auditModeFor(p, http('api'))).toBe('edge');
    expect(bodyRecordingFor(p, http('api'))).toEqual({
      request: { maxBytes: 65536, contentTypes: ['application/json', 'application/*+json', 'text/*'] },
    });
    expect(bodyRecordingFor(p, http('other'))).toBeUndefined();
  });

  it('merges the rules that match: per direction the largest max_bytes and every content type', () => {
    const p = policy(`audit:
  - name: small-json
    bodies: { request: true, response: true, max_bytes: 1024, content_types: [application/json] }
  - name: big-text-responses
    match: { protocol: http }
    bodies: { response: true, max_bytes: 4096, content_types: [TEXT/*] }
`);
    expect(bodyRecordingFor(p, http('api'))).toEqual({
      request: { maxBytes: 1024, contentTypes: ['application/json'] },
      response: { maxBytes: 4096, contentTypes: ['application/json', 'text/*'] },
    });
  });

  it('matches content types without parameters or case, and never a body without one', () => {
    const capture = { maxBytes: 10, contentTypes: ['application/json', 'text/*', 'application/*+json'] };
    expect(recordsContentType(capture, 'application/json; charset=utf-8')).toBe(true);
    expect(recordsContentType(capture, 'Text/Event-Stream')).toBe(true);
    expect(recordsContentType(capture, 'application/merge-patch+json')).toBe(true);
    expect(recordsContentType(capture, 'application/octet-stream')).toBe(false);
    expect(recordsContentType(capture, undefined)).toBe(false);
    expect(recordsContentType(capture, '')).toBe(false);
  });

  it('names every bad value', () => {
    expect(errorsOf('  - name: a\n    bodies: { request: yes please }\n')).toEqual([
      expect.stringMatching(/audit\[0\]\.bodies\.request: expected true or false/),
    ]);
    expect(errorsOf('  - name: a\n    bodies: { response: true, max_bytes: 2097152 }\n')).toEqual([
      expect.stringMatching(/audit\[0\]\.bodies\.max_bytes: at most 262144 bytes \(256 KiB\)/),
    ]);
    expect(errorsOf('  - name: a\n    bodies: { response: true, max_bytes: 0 }\n')).toEqual([
      expect.stringMatching(/audit\[0\]\.bodies\.max_bytes: expected at least 1 byte/),
    ]);
    expect(errorsOf('  - name: a\n    bodies: { response: true, max_bytes: 1.5 }\n')).toEqual([
      expect.stringMatching(/audit\[0\]\.bodies\.max_bytes: expected a whole number of bytes/),
    ]);
    expect(errorsOf('  - name: a\n    bodies: { response: true, max_bytes: 64KiB }\n')).toEqual([
      expect.stringMatching(
        /audit\[0\]\.bodies\.max_bytes: expected a whole number of bytes from 1 to 262144.*"64KiB"/,
      ),
    ]);
    expect(
      errorsOf(
        '  - name: a\n    bodies: { response: true, content_types: [application/json; charset=utf-8] }\n',
      ),
    ).toEqual([
      expect.stringMatching(
        /audit\[0\]\.bodies\.content_types\[0\]: expected a media type without parameters/,
      ),
    ]);
    expect(errorsOf('  - name: a\n    bodies: { response: true, content_types: [] }\n')).toEqual([
      expect.stringMatching(/audit\[0\]\.bodies\.content_types: expected at least one entry/),
    ]);
    expect(errorsOf('  - name: a\n    bodies: { max_bytes: 10 }\n')).toEqual([
      expect.stringMatching(
        /audit\[0\]\.bodies: records nothing: expected request: true, response: true or both/,
      ),
    ]);
    expect(errorsOf('  - name: a\n    bodies: { responses: true }\n')).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /audit\[0\]\.bodies\.responses: unknown key "responses": did you mean "response"\?/,
        ),
      ]),
    );
    expect(errorsOf('  - name: a\n')).toEqual([
      expect.stringMatching(/audit\[0\]: expected mode, bodies or both/),
    ]);
  });
});
