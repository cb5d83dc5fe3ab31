import { describe, expect, it } from 'vitest';
import type { CommandFacts, SqlStatementFacts } from './command-facts';
import { decideCommand, type CommandContext, type CommandDecision } from './command.engine';
import { formatPolicyError, parsePolicy } from './parse-policy';
import type { Policy } from './policy.types';

function policy(text: string): Policy {
  const result = parsePolicy(text, 'test.yaml');
  if (!result.ok) throw new Error(result.errors.map(formatPolicyError).join('\n'));
  return result.policy;
}

const POLICY = policy(`version: 1
guardrails:
  - name: no-drop-in-prod
    match: {connections: [tag:env=prod], protocol: [postgres, mysql]}
    deny: {statements: [DROP, TRUNCATE]}
  - name: where-please
    match: {connections: [tag:env=prod]}
    require_where: [UPDATE, DELETE]
  - name: writes-need-approval
    match: {connections: [pg-prod], subjects: [group:dev]}
    require_approval: {statements: [WRITE], approvers: [group:dba-leads], min_approvals: 2, timeout: 10m}
  - name: no-secrets-table
    match: {protocol: postgres}
    deny: {statements: ["*"], tables: [secrets, "vault.*"], message: the secrets tables are off limits}
  - name: no-rm
    match: {protocol: ssh}
    deny: {commands: ['^rm\\s+-rf\\b', 'shutdown']}
  - name: sudo-needs-approval
    match: {protocol: ssh}
    require_approval: {commands: ['^sudo\\b'], approvers: [group:ops]}
  - name: no-secret-reads
    match: {protocol: kubernetes, connections: [k8s-*]}
    deny: {kubernetes: {verbs: [get, list, watch], resources: [secrets], namespaces: [kube-system, "prod-*"]}}
  - name: exec-needs-approval
    match: {protocol: kubernetes}
    require_approval: {kubernetes: {resources: ["pods/exec", "pods/attach"]}, approvers: [group:sre]}
  - name: no-admin-api
    match: {protocol: http}
    deny: {http: {methods: [DELETE, put], paths: ["/admin/*"]}}
masking:
  - name: pii
    match: {connections: [tag:pii=true]}
    detectors: [email, {name: employee_id, pattern: 'E\\d{6}'}]
    columns: [users.ssn]
  - name: hashes
    columns: ["*.password_hash"]
`);

const dev = { subject: 'user:dev1', groups: ['dev'], actorChain: [] };
const ops = { subject: 'user:ops1', groups: ['ops'], actorChain: [] };
const pgProd = { name: 'pg-prod', protocol: 'postgres', tags: { env: 'prod', pii: 'true' } };
const pgStaging = { name: 'pg-staging', protocol: 'postgres', tags: { env: 'staging' } };
const mysqlProd = { name: 'mysql-prod', protocol: 'mysql', tags: { env: 'prod' } };
const host = { name: 'bastion', protocol: 'ssh', tags: {} };
const k8s = { name: 'k8s-prod', protocol: 'kubernetes', tags: {} };
const web = { name: 'grafana', protocol: 'http', tags: {} };

const ctx = (connection: CommandContext['connection'], subject = dev, readOnly = false): CommandContext => ({
  subject,
  connection,
  readOnly,
});
const sql = (...statements: SqlStatementFacts[]): CommandFacts => ({
  kind: 'sql',
  statements,
});

type Expected = Pick<CommandDecision, 'decision'> & { rule?: string; message?: RegExp };

describe('decideCommand', () => {
  it.each<[string, CommandContext, CommandFacts, Expected]>([
    // SQL statement denies
    [
      'DROP in prod',
      ctx(pgProd),
      sql({ type: 'DROP', tables: ['t'] }),
      { decision: 'deny', rule: 'no-drop-in-prod' },
    ],
    [
      'TRUNCATE in prod (mysql)',
      ctx(mysqlProd),
      sql({ type: 'TRUNCATE' }),
      { decision: 'deny', rule: 'no-drop-in-prod' },
    ],
    [
      'lower-case type from an engine',
      ctx(pgProd),
      sql({ type: 'drop' }),
      { decision: 'deny', rule: 'no-drop-in-prod' },
    ],
    ['DROP in staging', ctx(pgStaging), sql({ type: 'DROP', tables: ['t'] }), { decision: 'allow' }],
    ['SELECT in prod', ctx(pgProd), sql({ type: 'SELECT', tables: ['t'] }), { decision: 'allow' }],
    [
      'DROP hidden after a SELECT in a multi-statement string',
      ctx(pgProd),
      sql({ type: 'SELECT', tables: ['t'] }, { type: 'DROP', tables: ['t'] }),
      {
        decision: 'deny',
        rule: 'no-drop-in-prod',
        message: /^DROP is denied by policy rule "no-drop-in-prod"$/,
      },
    ],
    // multi-word types from the PostgreSQL classifier
    [
      'DROP INDEX is a DROP',
      ctx(pgProd),
      sql({ type: 'DROP INDEX', tables: ['i'] }),
      { decision: 'deny', rule: 'no-drop-in-prod', message: /^DROP INDEX is denied/ },
    ],
    [
      'CREATE TABLE is classified',
      ctx(pgProd, ops),
      sql({ type: 'CREATE TABLE', tables: ['t'] }),
      { decision: 'allow' },
    ],
    [
      'a family no policy knows',
      ctx(pgProd, ops),
      sql({ type: 'CHECK POINT', tables: [] }),
      { decision: 'deny', rule: 'no-drop-in-prod', message: /could not be classified/ },
    ],
    [
      'a data-modifying CTE counts as its nested statement',
      ctx(pgProd),
      sql(
        { type: 'SELECT', tables: ['t'], readOnly: false },
        { type: 'INSERT', tables: ['t'], nestedIn: 'SELECT' },
      ),
      { decision: 'require_approval', rule: 'writes-need-approval' },
    ],
    // tables
    [
      'any statement on a denied table, with the rule message',
      ctx(pgStaging),
      sql({ type: 'SELECT', tables: ['public.secrets'] }),
      { decision: 'deny', rule: 'no-secrets-table', message: /^the secrets tables are off limits$/ },
    ],
    [
      'schema glob',
      ctx(pgStaging),
      sql({ type: 'SELECT', tables: ['VAULT.keys'] }),
      { decision: 'deny', rule: 'no-secrets-table' },
    ],
    [
      'other tables',
      ctx(pgStaging),
      sql({ type: 'SELECT', tables: ['public.users'] }),
      { decision: 'allow' },
    ],
    [
      'statement whose tables the engine did not report (fail closed)',
      ctx(pgStaging),
      sql({ type: 'SELECT' }),
      { decision: 'deny', rule: 'no-secrets-table', message: /could not be classified/ },
    ],
    // require_where
    [
      'UPDATE without WHERE',
      ctx(pgProd, ops),
      sql({ type: 'UPDATE', tables: ['t'], hasWhere: false }),
      { decision: 'deny', rule: 'where-please', message: /UPDATE without a WHERE clause/ },
    ],
    [
      'DELETE with WHERE unknown',
      ctx(pgProd, ops),
      sql({ type: 'DELETE', tables: ['t'] }),
      { decision: 'deny', rule: 'where-please' },
    ],
    [
      'DELETE with WHERE',
      ctx(pgProd, ops),
      sql({ type: 'DELETE', tables: ['t'], hasWhere: true }),
      { decision: 'allow' },
    ],
    // approvals
    [
      'INSERT by a developer on pg-prod',
      ctx(pgProd),
      sql({ type: 'INSERT', tables: ['t'] }),
      { decision: 'require_approval', rule: 'writes-need-approval', message: /INSERT requires approval/ },
    ],
    [
      'INSERT by someone outside the match',
      ctx(pgProd, ops),
      sql({ type: 'INSERT', tables: ['t'] }),
      { decision: 'allow' },
    ],
    [
      'deny beats approval whatever the order',
      ctx(pgProd),
      sql({ type: 'INSERT', tables: ['t'] }, { type: 'TRUNCATE', tables: ['t'] }),
      { decision: 'deny', rule: 'no-drop-in-prod' },
    ],
    // unclassified SQL
    [
      'parse error where rules depend on classification',
      ctx(pgProd),
      { kind: 'sql', statements: [], parseError: 'syntax error at or near "DORP"' },
      { decision: 'deny', rule: 'no-drop-in-prod', message: /could not be classified \(syntax error/ },
    ],
    [
      'unknown statement type',
      ctx(pgProd),
      sql({ type: 'FROBNICATE', tables: ['t'] }),
      { decision: 'deny', rule: 'no-drop-in-prod' },
    ],
    [
      'parse error where no guardrail applies but masking does (the parser must see what masking protects)',
      ctx({ name: 'scratch', protocol: 'mysql', tags: {} }),
      { kind: 'sql', statements: [], parseError: 'oops' },
      {
        decision: 'deny',
        rule: 'hashes',
        message: /^a statement the parser could not read \(oops\) is opaque code/,
      },
    ],
    // read-only sessions
    [
      'read-only SELECT',
      ctx(pgStaging, ops, true),
      sql({ type: 'SELECT', tables: ['t'] }),
      { decision: 'allow' },
    ],
    [
      'read-only INSERT',
      ctx(pgStaging, ops, true),
      sql({ type: 'INSERT', tables: ['t'] }),
      {
        decision: 'deny',
        rule: 'sessions.read_only',
        message: /INSERT is not allowed in a read-only session/,
      },
    ],
    [
      'read-only SET (could lift the database read-only flag)',
      ctx(pgStaging, ops, true),
      sql({ type: 'SET' }),
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only COPY TO',
      ctx(pgStaging, ops, true),
      sql({ type: 'COPY TO', tables: ['t'], readOnly: true }),
      { decision: 'allow' },
    ],
    [
      'read-only transaction control',
      ctx(pgStaging, ops, true),
      sql({ type: 'TRANSACTION', tables: [] }, { type: 'BEGIN', tables: [] }),
      { decision: 'allow' },
    ],
    [
      'read-only COPY FROM',
      ctx(pgStaging, ops, true),
      sql({ type: 'COPY FROM', tables: ['t'] }),
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only SELECT INTO',
      ctx(pgStaging, ops, true),
      sql({ type: 'SELECT INTO', tables: ['t'] }),
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only SELECT FOR UPDATE (engine says it writes)',
      ctx(pgStaging, ops, true),
      sql({ type: 'SELECT', tables: ['t'], readOnly: false }),
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only unparsable',
      ctx({ name: 'scratch', protocol: 'postgres', tags: {} }, ops, true),
      { kind: 'sql', statements: [], parseError: 'x' },
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only SSH command',
      ctx(host, ops, true),
      { kind: 'ssh', command: 'ls' },
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only kubernetes get',
      ctx(k8s, ops, true),
      { kind: 'kubernetes', verb: 'get', resource: 'pods', namespace: 'default' },
      { decision: 'allow' },
    ],
    [
      'read-only kubernetes delete',
      ctx(k8s, ops, true),
      { kind: 'kubernetes', verb: 'delete', resource: 'pods', namespace: 'default' },
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only kubernetes get switching to WebSocket (an aggregated API’s console)',
      ctx(k8s, ops, true),
      {
        kind: 'kubernetes',
        verb: 'get',
        group: 'subresources.kubevirt.io',
        resource: 'virtualmachineinstances',
        subresource: 'console',
        namespace: 'default',
        upgrade: 'websocket',
      },
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only kubernetes watch over WebSocket',
      ctx(k8s, ops, true),
      { kind: 'kubernetes', verb: 'watch', resource: 'secrets', namespace: 'default', upgrade: 'websocket' },
      { decision: 'allow' },
    ],
    [
      'read-only kubernetes watch of a subresource switching to WebSocket (the legacy watch/ prefix)',
      ctx(k8s, ops, true),
      {
        kind: 'kubernetes',
        verb: 'watch',
        group: 'subresources.kubevirt.io',
        resource: 'virtualmachineinstances',
        subresource: 'console',
        name: 'vm1',
        upgrade: 'websocket',
      },
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only kubernetes exec, even as a GET',
      ctx(k8s, ops, true),
      { kind: 'kubernetes', verb: 'get', resource: 'pods', subresource: 'exec', namespace: 'default' },
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    [
      'read-only HTTP GET',
      ctx(web, ops, true),
      { kind: 'http', method: 'get', path: '/' },
      { decision: 'allow' },
    ],
    [
      'read-only HTTP POST',
      ctx(web, ops, true),
      { kind: 'http', method: 'POST', path: '/api' },
      { decision: 'deny', rule: 'sessions.read_only' },
    ],
    // SSH
    ['rm -rf', ctx(host), { kind: 'ssh', command: 'rm -rf /var' }, { decision: 'deny', rule: 'no-rm' }],
    [
      'rm -rf on a later line of shell input',
      ctx(host),
      { kind: 'ssh', command: 'cd /\nrm -rf var' },
      { decision: 'deny', rule: 'no-rm' },
    ],
    [
      'unanchored pattern',
      ctx(host),
      { kind: 'ssh', command: 'sudo shutdown -h now' },
      { decision: 'deny', rule: 'no-rm' },
    ],
    ['rm without -rf', ctx(host), { kind: 'ssh', command: 'rm file' }, { decision: 'allow' }],
    [
      'sudo',
      ctx(host),
      { kind: 'ssh', command: 'sudo systemctl restart nginx' },
      { decision: 'require_approval', rule: 'sudo-needs-approval' },
    ],
    [
      'SSH input the engine could not delimit',
      ctx(host),
      { kind: 'ssh', command: '', parseError: 'escape sequence' },
      { decision: 'deny', rule: 'no-rm' },
    ],
    // Kubernetes
    [
      'reading secrets in kube-system',
      ctx(k8s),
      { kind: 'kubernetes', verb: 'get', resource: 'secrets', namespace: 'kube-system', name: 'token' },
      { decision: 'deny', rule: 'no-secret-reads', message: /^get secrets is denied/ },
    ],
    [
      'namespace glob',
      ctx(k8s),
      { kind: 'kubernetes', verb: 'list', resource: 'secrets', namespace: 'prod-eu' },
      { decision: 'deny', rule: 'no-secret-reads' },
    ],
    [
      'listing secrets across all namespaces',
      ctx(k8s),
      { kind: 'kubernetes', verb: 'list', resource: 'secrets' },
      { decision: 'deny', rule: 'no-secret-reads' },
    ],
    [
      'secrets in another namespace',
      ctx(k8s),
      { kind: 'kubernetes', verb: 'get', resource: 'secrets', namespace: 'default' },
      { decision: 'allow' },
    ],
    [
      'pods/exec is matched by its subresource rule',
      ctx(k8s),
      { kind: 'kubernetes', verb: 'create', resource: 'pods', subresource: 'exec', namespace: 'default' },
      { decision: 'require_approval', rule: 'exec-needs-approval' },
    ],
    [
      'pods without subresource',
      ctx(k8s),
      { kind: 'kubernetes', verb: 'delete', resource: 'pods', namespace: 'default' },
      { decision: 'allow' },
    ],
    [
      'unparsable API path',
      ctx(k8s),
      { kind: 'kubernetes', verb: '', parseError: 'bad path' },
      { decision: 'deny', rule: 'no-secret-reads' },
    ],
    ['non-resource URL', ctx(k8s), { kind: 'kubernetes', verb: 'get' }, { decision: 'allow' }],
    // HTTP
    [
      'DELETE under /admin',
      ctx(web),
      { kind: 'http', method: 'DELETE', path: '/admin/users/1' },
      { decision: 'deny', rule: 'no-admin-api', message: /^DELETE \/admin\/users\/1 is denied/ },
    ],
    [
      'method case-insensitive',
      ctx(web),
      { kind: 'http', method: 'PUT', path: '/admin/x' },
      { decision: 'deny' },
    ],
    // Servers that route without regard to case (Express, ASP.NET) run this as /admin/x.
    [
      'path in another case',
      ctx(web),
      { kind: 'http', method: 'DELETE', path: '/ADMIN/X' },
      { decision: 'deny', rule: 'no-admin-api' },
    ],
    // A form POST whose body could not be read for a _method field: rules on methods cannot tell.
    [
      'method unread, under a rule on methods',
      ctx(web),
      { kind: 'http', method: 'POST', path: '/admin/x', methodUnread: 'a large form body' },
      { decision: 'deny', rule: 'no-admin-api', message: /could not be classified \(a large form body\)/ },
    ],
    [
      'method unread, on a path no rule names',
      ctx(web),
      { kind: 'http', method: 'POST', path: '/api/x', methodUnread: 'a large form body' },
      { decision: 'allow' },
    ],
    ['GET under /admin', ctx(web), { kind: 'http', method: 'GET', path: '/admin/x' }, { decision: 'allow' }],
    ['DELETE elsewhere', ctx(web), { kind: 'http', method: 'DELETE', path: '/api/x' }, { decision: 'allow' }],
    // Rules of one kind do not touch another kind
    [
      'SQL rules ignore SSH',
      ctx({ ...host, tags: { env: 'prod' } }),
      { kind: 'ssh', command: 'DROP' },
      { decision: 'allow' },
    ],
  ])('%s', (_name, context, facts, expected) => {
    const decision = decideCommand(POLICY, context, facts);
    expect(decision.decision).toBe(expected.decision);
    if (expected.rule !== undefined) expect(decision).toMatchObject({ rule: expected.rule });
    if (expected.message !== undefined)
      expect((decision as { message: string }).message).toMatch(expected.message);
  });

  it('names the first denying rule in document order', () => {
    const p = policy(`version: 1
guardrails:
  - {name: first, deny: {statements: [DELETE]}}
  - {name: second, deny: {statements: [DELETE]}}
`);
    expect(decideCommand(p, ctx(pgStaging), sql({ type: 'DELETE' }))).toMatchObject({
      decision: 'deny',
      rule: 'first',
    });
  });

  it('collects every approval requirement that applies', () => {
    const p = policy(`version: 1
guardrails:
  - name: dba
    require_approval: {statements: [UPDATE], approvers: [group:dba], min_approvals: 2, timeout: 5m}
  - name: security
    match: {connections: [tag:pii=true]}
    require_approval: {statements: [WRITE], approvers: [group:security, user:sec-lead]}
`);
    const decision = decideCommand(p, ctx(pgProd), sql({ type: 'UPDATE', hasWhere: true }));
    expect(decision).toMatchObject({
      decision: 'require_approval',
      rule: 'dba',
      approvers: ['group:dba'],
      minApprovals: 2,
      timeoutSeconds: 300,
      requirements: [
        { rule: 'dba', approvers: ['group:dba'], minApprovals: 2, timeoutSeconds: 300 },
        {
          rule: 'security',
          approvers: ['group:security', 'user:sec-lead'],
          minApprovals: 1,
          timeoutSeconds: 900,
        },
      ],
    });
  });

  it('denies an approval-only rule that cannot tell whether it applies', () => {
    const p = policy(`version: 1
guardrails:
  - {name: gate, require_approval: {statements: [DELETE], approvers: [group:dba]}}
`);
    expect(decideCommand(p, ctx(pgStaging), { kind: 'sql', statements: [], parseError: 'x' })).toMatchObject({
      decision: 'deny',
      rule: 'gate',
    });
  });

  it('attaches the masking rules of the session to allowed and held commands', () => {
    const allowed = decideCommand(POLICY, ctx(pgProd, ops), sql({ type: 'SELECT', tables: ['users'] }));
    expect(allowed).toEqual({
      decision: 'allow',
      masking: {
        detectors: [
          { kind: 'builtin', name: 'email' },
          { kind: 'custom', name: 'employee_id', pattern: 'E\\d{6}' },
        ],
        columns: ['users.ssn', '*.password_hash'],
        rules: ['pii', 'hashes'],
        kubernetes: [],
      },
    });
    const held = decideCommand(POLICY, ctx(pgProd), sql({ type: 'INSERT', tables: ['t'] }));
    expect(held.decision === 'require_approval' && held.masking.rules).toEqual(['pii', 'hashes']);
  });

  it('allows everything under a policy without guardrails', () => {
    const p = policy('version: 1\n');
    expect(decideCommand(p, ctx(pgProd), sql({ type: 'DROP' }))).toEqual({
      decision: 'allow',
      masking: { detectors: [], columns: [], rules: [], kubernetes: [] },
    });
    expect(decideCommand(p, ctx(pgProd), { kind: 'sql', statements: [], parseError: 'x' }).decision).toBe(
      'allow',
    );
  });
});

describe('decideCommand: opaque code', () => {
  const GUARDED = policy(`version: 1
guardrails:
  - name: no-drop
    match: {protocol: postgres}
    deny: {statements: [DROP]}
  - name: dba-code
    match: {subjects: [group:dba], connections: [pg-staging]}
    allow: {opaque: [DO, CREATE FUNCTION]}
  - name: ops-everything
    match: {subjects: [group:ops]}
    allow: {opaque: ['*']}
`);
  const dba = { subject: 'user:dba1', groups: ['dba'], actorChain: [] };
  const doBlock = sql({ type: 'DO', readOnly: false, opaque: ['DO'] });

  it('denies opaque code under a guardrail that inspects SQL, naming the kind and how to allow it', () => {
    const decision = decideCommand(GUARDED, ctx(pgStaging), doBlock);
    expect(decision).toMatchObject({ decision: 'deny', rule: 'no-drop' });
    expect((decision as { message: string }).message).toBe(
      `DO is opaque code (what it runs cannot be inspected), denied by policy rule "no-drop"; a guardrail with allow: {opaque: ['DO']} lets it run`,
    );
  });

  it('lets a guardrail allow kinds by name, only in the sessions it matches', () => {
    expect(decideCommand(GUARDED, ctx(pgStaging, dba), doBlock).decision).toBe('allow');
    // Another connection: the allowing guardrail does not match.
    expect(decideCommand(GUARDED, ctx({ ...pgStaging, name: 'pg-other' }, dba), doBlock).decision).toBe(
      'deny',
    );
    // A kind it does not name.
    expect(
      decideCommand(GUARDED, ctx(pgStaging, dba), sql({ type: 'CALL', readOnly: false, opaque: ['CALL'] })),
    ).toMatchObject({ decision: 'deny', message: /^CALL is opaque code/ });
    // `*` allows every kind, unparsed text included.
    expect(
      decideCommand(GUARDED, ctx(pgStaging, ops), sql({ type: 'CALL', opaque: ['CALL'] })).decision,
    ).toBe('allow');
    expect(
      decideCommand(GUARDED, ctx(pgStaging, ops), { kind: 'sql', statements: [], parseError: 'bad' })
        .decision,
    ).toBe('allow');
  });

  it('allowing opaque code does not lift a deny on its statement type', () => {
    const p = policy(`version: 1
guardrails:
  - {name: no-do, deny: {statements: [DO]}}
  - {name: code-ok, allow: {opaque: ['*']}}
`);
    expect(decideCommand(p, ctx(pgStaging), doBlock)).toMatchObject({ decision: 'deny', rule: 'no-do' });
  });

  it('every kind in a statement must be allowed (a CREATE SCHEMA holding a CREATE TRIGGER)', () => {
    const schema = sql({ type: 'CREATE SCHEMA', opaque: ['CREATE TRIGGER', 'CREATE FUNCTION'] });
    expect(decideCommand(GUARDED, ctx(pgStaging, dba), schema)).toMatchObject({
      decision: 'deny',
      message: /^CREATE SCHEMA with CREATE TRIGGER is opaque code/,
    });
  });

  it('names what makes a statement opaque when its type does not', () => {
    const cases: [SqlStatementFacts, RegExp][] = [
      [{ type: 'SELECT', opaque: ['DYNAMIC SQL'] }, /^SELECT calling a function that runs a query string/],
      [{ type: 'SET', opaque: ['CODE SETTING'] }, /^SET of a setting that loads code/],
      [{ type: 'COPY TO', opaque: ['COPY PROGRAM'] }, /^COPY \.\.\. PROGRAM is opaque/],
      [{ type: 'EXECUTE', opaque: ['EXECUTE'] }, /^EXECUTE of a statement this session did not prepare/],
      [{ type: 'CALL', opaque: ['FUNCTION CALL'] }, /^a fast-path function call/],
    ];
    for (const [facts, message] of cases)
      expect(decideCommand(GUARDED, ctx(pgStaging), sql(facts))).toMatchObject({ decision: 'deny', message });
  });

  it('denies opaque code under require_where and masking, holds it under an approval rule', () => {
    const p = policy(`version: 1
guardrails:
  - {name: where, match: {connections: [pg-prod]}, require_where: [DELETE]}
  - {name: review, match: {connections: [pg-staging]}, require_approval: {statements: [WRITE], approvers: [group:dba]}}
masking:
  - {name: pii, match: {connections: [pg-masked]}, columns: [users.ssn]}
`);
    expect(decideCommand(p, ctx(pgProd), doBlock)).toMatchObject({ decision: 'deny', rule: 'where' });
    expect(decideCommand(p, ctx({ ...pgStaging, name: 'pg-masked' }), doBlock)).toMatchObject({
      decision: 'deny',
      rule: 'pii',
      message: /masking rule "pii" applies to this session/,
    });
    expect(decideCommand(p, ctx(pgStaging), doBlock)).toMatchObject({
      decision: 'require_approval',
      rule: 'review',
      message: /^DO is opaque code .* requires approval \(policy rule "review"\)$/,
    });
    // Nothing inspects SQL and nothing is masked on another connection: nothing to protect.
    expect(decideCommand(p, ctx({ ...pgStaging, name: 'pg-dev' }), doBlock).decision).toBe('allow');
  });

  it('guardrails on other protocols do not make SQL opaque code matter', () => {
    const p = policy(`version: 1
guardrails:
  - {name: no-rm, deny: {commands: ['^rm ']}}
`);
    expect(decideCommand(p, ctx(pgStaging), doBlock).decision).toBe('allow');
  });

  it('a read-only session refuses opaque code even when a guardrail allows it', () => {
    expect(
      decideCommand(
        GUARDED,
        ctx(pgStaging, ops, true),
        sql({ type: 'SELECT', readOnly: false, opaque: ['DYNAMIC SQL'] }),
      ),
    ).toMatchObject({
      decision: 'deny',
      rule: 'sessions.read_only',
      message: 'SELECT runs opaque code (DYNAMIC SQL), which is not allowed in a read-only session',
    });
  });
});
