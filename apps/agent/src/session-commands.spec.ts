import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicy } from '@tollgate/policy';
import { ConnectionSpec, OpenSession, Protocol, type SessionUp } from '@tollgate/proto';
import { scopesPermitForward, sessionCommands } from './session-commands';

describe('scopesPermitForward', () => {
  it('needs the forward scope, whole or narrowed to the connection', () => {
    expect(scopesPermitForward(['connect', 'exec', 'forward'], 'web-1')).toBe(true);
    expect(scopesPermitForward(['forward:web-*'], 'web-1')).toBe(true);
    expect(scopesPermitForward(['forward:db-*'], 'web-1')).toBe(false);
    expect(scopesPermitForward(['connect:web-1'], 'web-1')).toBe(false);
    expect(scopesPermitForward([], 'web-1')).toBe(false);
    expect(scopesPermitForward(['forward:web.1'], 'webx1')).toBe(false);
  });
});

describe('sessionCommands: recorded HTTP bodies', () => {
  const policyOf = (text: string) => {
    const parsed = parsePolicy(`version: 1\n${text}`, 'policy.yaml');
    if (!parsed.ok) throw new Error(parsed.errors.map(formatPolicyError).join('\n'));
    return parsed.policy;
  };
  // Gateway mode, so a result goes up the session's stream, where the test reads it.
  const BODIES = `masking:
  - name: pii
    detectors: [email]
audit:
  - name: strict
    mode: gateway
    bodies: {request: true, response: true, max_bytes: 24}
`;
  const SPEC = ConnectionSpec.fromPartial({ name: 'api', protocol: Protocol.HTTP });
  const open = (policy: string) => {
    const sent: SessionUp[] = [];
    const commands = sessionCommands(
      SPEC,
      OpenSession.fromPartial({ sessionId: 's-1', context: { subject: 'user:ana', groups: ['dev'] } }),
      'connect',
      { version: 1, policy: policyOf(policy) },
      (message) => sent.push(message),
      { journal: undefined as never, refusal: () => undefined },
    );
    return { commands, sent };
  };

  it('masks recorded bodies, and cuts a truncated one to max_bytes only after masking it', () => {
    const { commands, sent } = open(BODIES);
    expect(commands.port.bodies).toEqual({
      request: { maxBytes: 24, contentTypes: ['application/json', 'application/*+json', 'text/*'] },
      response: { maxBytes: 24, contentTypes: ['application/json', 'application/*+json', 'text/*'] },
    });
    commands.port.report({
      command: 'POST /x',
      rows: 0,
      bytes: 10,
      durationMs: 1,
      masked: [],
      status: 200,
      requestBody: '{"to":"ana@corp.example"}',
      // Over max_bytes, with an address across the cut: masked whole, then cut.
      responseBody: '{"pad":"xxxxxx","e":"carol@corp.example","more":1}',
      bodyTruncated: ['response'],
      bodyNotes: ['request: something'],
    });
    const result = sent.map((m) => (m.kind?.$case === 'commandResult' ? m.kind.commandResult : undefined))[0];
    expect(result).toMatchObject({
      requestBody: '{"to":"a***@***.example"}',
      responseBody: '{"pad":"xxxxxx","e":"c**',
      bodyTruncated: ['response'],
      bodyNotes: ['request: something'],
      masked: ['email'],
    });
  });

  it('records nothing by default, and a new version that changes body recording ends the session', () => {
    const { commands } = open('audit:\n  - name: strict\n    mode: gateway\n');
    expect(commands.port.bodies).toBeUndefined();
    expect(commands.follow({ version: 2, policy: policyOf(BODIES) }, SPEC)).toMatch(
      /policy version 2 changes this session's .*body recording.*; reconnect to work under it/,
    );
  });
});
