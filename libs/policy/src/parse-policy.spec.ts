import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicy, type PolicyError } from './parse-policy';

function errorsOf(text: string): PolicyError[] {
  const result = parsePolicy(text, 'policy.yaml');
  if (result.ok) throw new Error('expected the policy to be rejected');
  return [...result.errors];
}

const FULL = `version: 1
metadata: {name: prod, owner: platform}
roles:
  - name: dba
    subjects: [group:dba, user:alice@example.com, sa:ci-*]
    connections: [tag:env=prod, pg-*]
    verbs: [connect, exec]
    max_duration: 4h
    read_only: true
  - name: auditors
    subjects: [group:audit]
    verbs: [audit:read]
guardrails:
  - name: no-drop-in-prod
    match: {connections: [tag:env=prod], protocol: postgres}
    deny: {statements: [DROP, TRUNCATE], message: not in prod}
  - name: writes-need-approval
    match: {connections: [pg-prod], protocol: [postgres, mysql], subjects: [group:dev]}
    require_approval: {statements: [WRITE], approvers: [group:dba-leads], min_approvals: 2, timeout: 10m}
    require_where: [UPDATE, DELETE]
  - name: no-rm
    deny: {commands: ['^rm\\s+-rf'], kubernetes: {verbs: [delete], resources: [secrets]}, http: {methods: [DELETE]}}
masking:
  - match: {connections: [tag:pii=true]}
    detectors: [email, phone, credit_card, ssn, iban, ip_address, {name: employee_id, pattern: 'E\\d{6}'}]
    columns: ["users.ssn", "*.password_hash"]
access_requests:
  - name: break-glass
    requesters: [group:eng]
    connections: [tag:env=prod]
    verbs: [connect]
    reviewers: [group:dba-leads]
    max_duration: 2h
delegation: {max_depth: 1}
sessions: {max_duration: 12h, read_only: false}
`;

describe('parsePolicy', () => {
  it('parses every section into the normalized policy', () => {
    const result = parsePolicy(FULL, 'policy.yaml');
    if (!result.ok) throw new Error(result.errors.map(formatPolicyError).join('\n'));
    const { policy } = result;
    expect(policy.metadata).toEqual({ name: 'prod', owner: 'platform' });
    expect(policy.roles[0]).toEqual({
      name: 'dba',
      subjects: ['group:dba', 'user:alice@example.com', 'sa:ci-*'],
      connections: ['tag:env=prod', 'pg-*'],
      verbs: ['connect', 'exec'],
      maxDurationSeconds: 14_400,
      readOnly: true,
    });
    expect(policy.roles[1]).toMatchObject({ verbs: ['audit:read'], connections: [], readOnly: false });
    expect(policy.guardrails[0]).toEqual({
      name: 'no-drop-in-prod',
      match: { connections: ['tag:env=prod'], protocols: ['postgres'] },
      deny: { statements: ['DROP', 'TRUNCATE'], message: 'not in prod' },
    });
    expect(policy.guardrails[1]).toMatchObject({
      match: { protocols: ['postgres', 'mysql'], subjects: ['group:dev'] },
      requireApproval: {
        statements: ['WRITE'],
        approvers: ['group:dba-leads'],
        minApprovals: 2,
        timeoutSeconds: 600,
      },
      requireWhere: ['UPDATE', 'DELETE'],
    });
    expect(policy.guardrails[2]!.match).toEqual({});
    expect(policy.guardrails[2]!.deny).toEqual({
      commands: ['^rm\\s+-rf'],
      kubernetes: { verbs: ['delete'], resources: ['secrets'] },
      http: { methods: ['DELETE'] },
    });
    expect(policy.masking[0]).toEqual({
      name: 'masking[0]',
      match: { connections: ['tag:pii=true'] },
      detectors: [
        { kind: 'builtin', name: 'email' },
        { kind: 'builtin', name: 'phone' },
        { kind: 'builtin', name: 'credit_card' },
        { kind: 'builtin', name: 'ssn' },
        { kind: 'builtin', name: 'iban' },
        { kind: 'builtin', name: 'ip_address' },
        { kind: 'custom', name: 'employee_id', pattern: 'E\\d{6}' },
      ],
      columns: ['users.ssn', '*.password_hash'],
      onDerived: 'mask',
      predicates: 'allow',
    });
    expect(policy.accessRequests[0]).toEqual({
      name: 'break-glass',
      requesters: ['group:eng'],
      connections: ['tag:env=prod'],
      verbs: ['connect'],
      reviewers: ['group:dba-leads'],
      minApprovals: 1,
      maxDurationSeconds: 7_200,
      readOnly: false,
    });
    expect(policy.delegation).toEqual({ maxDepth: 1 });
    expect(policy.sessions).toEqual({ maxDurationSeconds: 43_200, readOnly: false });
  });

  it('fills defaults for a minimal document', () => {
    const result = parsePolicy('version: 1\n', 'p.yaml');
    expect(result).toEqual({
      ok: true,
      policy: {
        version: 1,
        metadata: {},
        roles: [],
        guardrails: [],
        masking: [],
        accessRequests: [],
        audit: [],
        delegation: { maxDepth: 2 },
        sessions: { maxDurationSeconds: 28_800, readOnly: false },
      },
    });
  });

  it.each([
    ['unknown top-level key', 'version: 1\nrole: []\n', 'role', 2, 1, /unknown key "role"/],
    [
      'misspelt key in a role',
      'version: 1\nroles:\n  - name: r\n    subjects: [group:a]\n    verbs: [admin]\n    red_only: true\n',
      'roles[0].red_only',
      6,
      5,
      /unknown key "red_only"/,
    ],
    [
      'unknown statement type',
      'version: 1\nguardrails:\n  - name: g\n    deny: {statements: [DROP, DORP]}\n',
      'guardrails[0].deny.statements[1]',
      4,
      31,
      /statement type.*"DORP"/,
    ],
    [
      'bad duration',
      'version: 1\nsessions: {max_duration: 8 hours}\n',
      'sessions.max_duration',
      2,
      26,
      /duration/,
    ],
    [
      'invalid regular expression',
      "version: 1\nguardrails:\n  - name: g\n    deny: {commands: ['rm (']}\n",
      'guardrails[0].deny.commands[0]',
      4,
      23,
      /not a valid regular expression/,
    ],
    [
      'bad subject',
      'version: 1\nroles:\n  - name: r\n    subjects: [dba]\n    verbs: [admin]\n',
      'roles[0].subjects[0]',
      4,
      16,
      /user:<id or email>/,
    ],
    [
      'unknown verb',
      'version: 1\nroles:\n  - name: r\n    subjects: [group:a]\n    verbs: [delete]\n',
      'roles[0].verbs[0]',
      5,
      13,
      /Invalid option/,
    ],
    [
      'connect without connections',
      'version: 1\nroles:\n  - name: r\n    subjects: [group:a]\n    verbs: [connect]\n',
      'roles[0].connections',
      3,
      5,
      /must name its connections/,
    ],
    [
      'guardrail without an action',
      'version: 1\nguardrails:\n  - name: g\n    match: {protocol: ssh}\n',
      'guardrails[0]',
      3,
      5,
      /at least one of deny, require_approval, require_where/,
    ],
    [
      'deny without a matcher',
      'version: 1\nguardrails:\n  - name: g\n    deny: {message: no}\n',
      'guardrails[0].deny',
      4,
      11,
      /at least one of statements/,
    ],
    [
      'approval without approvers',
      'version: 1\nguardrails:\n  - name: g\n    require_approval: {statements: [DELETE]}\n',
      'guardrails[0].require_approval.approvers',
      4,
      23,
      /"approvers" is required here \(a list\)/,
    ],
    [
      'unknown protocol',
      'version: 1\nguardrails:\n  - name: g\n    match: {protocol: postgress}\n    require_where: [UPDATE]\n',
      'guardrails[0].match.protocol',
      4,
      23,
      /expected a protocol \(postgres, mysql, .*\) or a list of them; got "postgress"/,
    ],
    [
      'unknown protocol in a list',
      'version: 1\nguardrails:\n  - name: g\n    match: {protocol: [mysql, htp]}\n    require_where: [UPDATE]\n',
      'guardrails[0].match.protocol',
      4,
      23,
      /or a list of them; got \["mysql","htp"\]/,
    ],
    [
      'duplicate role name',
      'version: 1\nroles:\n  - {name: r, subjects: [group:a], verbs: [admin]}\n  - {name: r, subjects: [group:b], verbs: [admin]}\n',
      'roles[1].name',
      4,
      12,
      /duplicate name "r"/,
    ],
    ['wrong version', 'version: 2\n', 'version', 1, 10, /version: 1/],
    ['missing version', 'roles: []\n', 'version', 1, 1, /version: 1/],
    ['delegation too deep', 'version: 1\ndelegation: {max_depth: 11}\n', 'delegation.max_depth', 2, 25, /10/],
    [
      'unknown detector',
      'version: 1\nmasking:\n  - detectors: [emial]\n',
      'masking[0].detectors[0]',
      3,
      17,
      /email, phone/,
    ],
  ])('rejects %s, naming the path and position', (_name, text, path, line, column, message) => {
    const errors = errorsOf(text);
    const error = errors.find((e) => e.path === path);
    expect(error, JSON.stringify(errors)).toBeDefined();
    expect(error).toMatchObject({ file: 'policy.yaml', line, column });
    expect(error!.message).toMatch(message);
  });

  it('accepts statement families, specific types and groups, and rejects anything else', () => {
    const doc = (statement: string) =>
      `version: 1\nguardrails:\n  - name: g\n    deny: {statements: ["${statement}"]}\n`;
    for (const ok of ['DROP', 'DROP DATABASE', 'COPY FROM', 'WRITE', 'DDL', 'DCL', '*', 'TRANSACTION']) {
      expect(parsePolicy(doc(ok), 'p.yaml').ok, ok).toBe(true);
    }
    for (const bad of ['drop', 'DORP', 'DROP  TABLE', 'CHECKPIONT', '']) {
      expect(errorsOf(doc(bad))[0]!.path, bad).toBe('guardrails[0].deny.statements[0]');
    }
  });

  it.each([
    [
      'version: 1\nroles:\n  - {name: r, subjects: [group:a], verbs: [admin], red_only: true}\n',
      /did you mean "read_only"\?/,
    ],
    ['version: 1\nguardrails:\n  - {name: g, denny: {statements: [DROP]}}\n', /did you mean "deny"\?/],
    ['version: 1\nguardrails:\n  - {name: g, deny: {statement: [DROP]}}\n', /did you mean "statements"\?/],
    ['version: 1\nDelegation: {max_depth: 1}\n', /did you mean "delegation"\?/],
    ['version: 1\nsessions: {colour: red}\n', /expected one of max_duration, read_only/],
  ])('suggests the key a typo was meant to be (%#)', (text, message) => {
    expect(errorsOf(text).map((e) => e.message)).toContainEqual(expect.stringMatching(message));
  });

  it('reads allow: {opaque: [...]} and accepts only kinds of opaque code or *', () => {
    const doc = (allow: string) => `version: 1\nguardrails:\n  - name: g\n    allow: ${allow}\n`;
    const parsed = parsePolicy(doc(`{opaque: [DO, CREATE FUNCTION, 'DYNAMIC SQL', UNPARSED]}`), 'p.yaml');
    expect(parsed.ok && parsed.policy.guardrails[0]).toMatchObject({
      name: 'g',
      allow: { opaque: ['DO', 'CREATE FUNCTION', 'DYNAMIC SQL', 'UNPARSED'] },
    });
    expect(parsePolicy(doc(`{opaque: ['*']}`), 'p.yaml').ok).toBe(true);
    // DROP is not opaque code: an allow could be misread as lifting a deny, so it is refused.
    const [dropError] = errorsOf(doc('{opaque: [DROP]}'));
    expect(dropError?.path).toBe('guardrails[0].allow.opaque[0]');
    expect(dropError?.message).toMatch(
      /^expected a kind of opaque code in upper case \(DO, CALL, .*\) or \*; got "DROP"$/,
    );
    const [lowerError] = errorsOf(doc("{opaque: [do, 'dynamic  sql']}"));
    expect(lowerError?.path).toBe('guardrails[0].allow.opaque[0]');
    expect(lowerError?.message).toMatch(/got "do" \(did you mean "DO"\?\)$/);
    expect(errorsOf(doc("{opaque: ['dynamic  sql']}"))[0]?.message).toMatch(
      /\(did you mean "DYNAMIC SQL"\?\)$/,
    );
    expect(errorsOf(doc('{opaque: []}'))[0]!.message).toMatch(/at least one/);
    expect(errorsOf(doc('{statements: [DO]}')).map((e) => e.message)).toContainEqual(
      expect.stringMatching(/unknown key "statements"/),
    );
  });

  it('reports every problem, not only the first, in source order', () => {
    const errors = errorsOf(
      'version: 1\nroles:\n  - name: r\n    subjects: [nobody]\n    verbs: [admin, fly]\n    colour: red\n',
    );
    expect(errors.map((e) => e.path)).toEqual([
      'roles[0].subjects[0]',
      'roles[0].verbs[1]',
      'roles[0].colour',
    ]);
  });

  it('says a required key that is left out is required, where it belongs', () => {
    const errors = errorsOf(
      'version: 1\nguardrails:\n  - name: g\n    require_approval: { http: { methods: [DELETE] } }\nroles:\n  - name: r\n    connections: ["*"]\n    verbs: [connect]\n',
    );
    expect(errors.map((e) => [e.path, e.message])).toEqual([
      ['guardrails[0].require_approval.approvers', '"approvers" is required here (a list)'],
      ['roles[0].subjects', '"subjects" is required here (a list)'],
    ]);
    expect(errors[0]).toMatchObject({ line: 4 });
    // A key that is there with the wrong type keeps the type error.
    expect(errorsOf('version: 1\nroles: {}\n')[0]!.message).toMatch(/expected array/);
  });

  it('reports YAML syntax errors with their position', () => {
    const errors = errorsOf('version: 1\nroles: [\n');
    expect(errors[0]).toMatchObject({ file: 'policy.yaml', path: '', line: expect.any(Number) as number });
  });

  it('rejects duplicate keys rather than letting the last one win', () => {
    const errors = errorsOf('version: 1\nsessions: {read_only: true}\nsessions: {read_only: false}\n');
    expect(errors[0]!.message).toMatch(/unique/);
  });

  it('rejects an empty document and a document that is not a mapping', () => {
    expect(errorsOf('')[0]!.message).toMatch(/empty/);
    expect(errorsOf('# only a comment\n')[0]!.message).toMatch(/empty/);
    expect(errorsOf('- 1\n')[0]!.message).toMatch(/expected object/);
  });

  it('refuses exponential alias expansion instead of hanging', () => {
    const laughs = ['version: 1', 'a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const next = String.fromCharCode(97 + i);
      laughs.push(`${next}: &${next} [${Array(9).fill(`*${prev}`).join(', ')}]`);
    }
    const errors = errorsOf(laughs.join('\n'));
    expect(errors[0]!.message).toMatch(/alias/i);
  });

  it('formats an error as file:line:column: path: message', () => {
    const [error] = errorsOf('version: 1\nrole: []\n');
    expect(formatPolicyError(error!)).toMatch(/^policy\.yaml:2:1: role: unknown key "role"/);
    expect(formatPolicyError({ file: 'a.yaml', path: '', message: 'boom' })).toBe('a.yaml: boom');
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const result = parsePolicy(text, 'fuzz.yaml');
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });

  it('never throws on arbitrary YAML-shaped data', () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.constantFrom(
          'version',
          'roles',
          'name',
          'verbs',
          'deny',
          'statements',
          'DROP',
          '*',
          'group:a',
          1,
          true,
          null,
        ),
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom(
            'version',
            'roles',
            'guardrails',
            'masking',
            'name',
            'subjects',
            'verbs',
            'deny',
            'match',
          ),
          tie('node'),
          { maxKeys: 3 },
        ),
      ),
    })).node;
    fc.assert(
      fc.property(value, (doc) => {
        const result = parsePolicy(JSON.stringify(doc), 'fuzz.yaml');
        if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});
