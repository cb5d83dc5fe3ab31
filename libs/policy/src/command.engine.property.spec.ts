import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CommandFacts } from './command-facts';
import { decideCommand, type CommandContext } from './command.engine';
import type { CommandMatchers, Guardrail, Match, Policy } from './policy.types';
import { STATEMENT_TYPES, type Protocol, type StatementSelector } from './vocabulary';

/**
 * Properties over generated policies: whatever else a policy says (other guardrails, approvals,
 * masking, read-only), a command that an explicit, applicable deny covers is denied, and an
 * unclassifiable command is never let through by a guardrail that depends on classification.
 */

const connection = { name: 'pg-prod', protocol: 'postgres' as Protocol, tags: { env: 'prod' } };
const subject = { subject: 'user:alice', groups: ['dev'], actorChain: [] };

const statementType = fc.constantFrom(...STATEMENT_TYPES);
const sqlFacts = fc.record({
  kind: fc.constant('sql' as const),
  statements: fc.array(
    fc.record(
      {
        type: statementType,
        tables: fc.array(fc.constantFrom('users', 'public.orders', 'secrets'), { maxLength: 2 }),
        hasWhere: fc.boolean(),
      },
      { requiredKeys: ['type'] },
    ),
    { minLength: 1, maxLength: 4 },
  ),
});
const sshFacts = fc.record({
  kind: fc.constant('ssh' as const),
  command: fc.string({ minLength: 1, maxLength: 30 }),
});
const k8sFacts = fc.record(
  {
    kind: fc.constant('kubernetes' as const),
    verb: fc.constantFrom('get', 'list', 'delete', 'create', 'patch'),
    resource: fc.constantFrom('pods', 'secrets', 'deployments'),
    subresource: fc.constantFrom('exec', 'log'),
    namespace: fc.constantFrom('default', 'kube-system'),
  },
  { requiredKeys: ['kind', 'verb'] },
);
const httpFacts = fc.record({
  kind: fc.constant('http' as const),
  method: fc.constantFrom('GET', 'POST', 'DELETE'),
  path: fc.constantFrom('/', '/admin', '/api/v1/x'),
});
const facts: fc.Arbitrary<CommandFacts> = fc.oneof(sqlFacts, sshFacts, k8sFacts, httpFacts);

const match: fc.Arbitrary<Match> = fc.record(
  {
    connections: fc.array(fc.constantFrom('*', 'pg-*', 'tag:env=prod', 'other', 'tag:env=dev'), {
      minLength: 1,
      maxLength: 2,
    }),
    protocols: fc.array(fc.constantFrom<Protocol>('postgres', 'ssh', 'kubernetes', 'http', 'mysql'), {
      minLength: 1,
      maxLength: 2,
    }),
    subjects: fc.array(fc.constantFrom('*', 'group:dev', 'user:bob', 'group:ops'), {
      minLength: 1,
      maxLength: 2,
    }),
  },
  { requiredKeys: [] },
);
const matchers: fc.Arbitrary<CommandMatchers> = fc.record(
  {
    statements: fc.array(fc.constantFrom<StatementSelector>('*', 'WRITE', 'DDL', 'SELECT', 'DROP', 'SET'), {
      minLength: 1,
      maxLength: 3,
    }),
    commands: fc.array(fc.constantFrom('^rm', 'sudo', '.*', 'x$'), { minLength: 1, maxLength: 2 }),
    kubernetes: fc.record(
      { verbs: fc.constant(['delete']), resources: fc.constant(['secrets']) },
      { requiredKeys: [] },
    ),
    http: fc.record(
      { methods: fc.constant(['POST']), paths: fc.constant(['/admin*']) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);
const guardrail: fc.Arbitrary<Guardrail> = fc
  .record(
    {
      name: fc.constantFrom('a', 'b', 'c', 'd'),
      match,
      deny: matchers,
      requireApproval: matchers.map((m) => ({
        ...m,
        approvers: ['group:x'],
        minApprovals: 1,
        timeoutSeconds: 60,
      })),
      requireWhere: fc.constant(['UPDATE', 'DELETE'] as const),
    },
    { requiredKeys: ['name', 'match'] },
  )
  .map((g) => g as Guardrail);

const policyWith = (guardrails: Guardrail[]): Policy => ({
  version: 1,
  metadata: {},
  roles: [],
  guardrails,
  masking: [],
  accessRequests: [],
  audit: [],
  delegation: { maxDepth: 2 },
  sessions: { maxDurationSeconds: 3600, readOnly: false },
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A deny rule that covers `f` by construction, independently of the engine's matching code. */
function denyCovering(f: CommandFacts): CommandMatchers {
  switch (f.kind) {
    case 'sql':
      return { statements: [f.statements[0]!.type] };
    case 'ssh':
      return { commands: [escapeRegExp(f.command)] };
    case 'kubernetes':
      return { kubernetes: { verbs: [f.verb] } };
    case 'http':
      return { http: { methods: [f.method], paths: [f.path] } };
  }
}

describe('decideCommand properties', () => {
  it('no generated policy allows (or holds for approval) what an applicable explicit deny covers', () => {
    fc.assert(
      fc.property(
        fc.array(guardrail, { maxLength: 5 }),
        facts,
        fc.nat(),
        fc.constantFrom<Match>(
          {},
          { connections: ['pg-prod'] },
          { subjects: ['group:dev'] },
          { connections: ['tag:env=prod'] },
        ),
        fc.boolean(),
        (others, f, at, explicitMatch, readOnly) => {
          const explicit: Guardrail = { name: 'explicit', match: explicitMatch, deny: denyCovering(f) };
          const guardrails = [...others];
          guardrails.splice(at % (guardrails.length + 1), 0, explicit);
          const context: CommandContext = { subject, connection, readOnly };
          expect(decideCommand(policyWith(guardrails), context, f).decision).toBe('deny');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never lets an unclassifiable SQL command through a guardrail with SQL rules', () => {
    fc.assert(
      fc.property(
        fc.array(guardrail, { maxLength: 5 }),
        fc.oneof(
          fc.constant<CommandFacts>({ kind: 'sql', statements: [], parseError: 'syntax error' }),
          fc.constant<CommandFacts>({ kind: 'sql', statements: [{ type: 'SELECT' }, { type: 'WIBBLE' }] }),
        ),
        (guardrails, f) => {
          const decision = decideCommand(policyWith(guardrails), { subject, connection, readOnly: false }, f);
          const dependsOnSql = guardrails.some(
            (g) =>
              (g.match.connections?.some((c) => c !== 'other' && c !== 'tag:env=dev') ?? true) &&
              (g.match.protocols?.includes('postgres') ?? true) &&
              (g.match.subjects?.some((s) => s === '*' || s === 'group:dev') ?? true) &&
              (g.deny?.statements !== undefined ||
                g.requireApproval?.statements !== undefined ||
                g.requireWhere !== undefined),
          );
          expect(decision.decision).toBe(dependsOnSql ? 'deny' : 'allow');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('decideCommand robustness', () => {
  it('never throws, whatever facts an engine hands it', () => {
    const anyFacts = fc.oneof(
      fc.record({
        kind: fc.constant('sql' as const),
        statements: fc.array(
          fc.record(
            {
              type: fc.string(),
              tables: fc.array(fc.string(), { maxLength: 2 }),
              hasWhere: fc.boolean(),
              readOnly: fc.boolean(),
            },
            { requiredKeys: ['type'] },
          ),
          { maxLength: 3 },
        ),
        parseError: fc.option(fc.string(), { nil: undefined }),
      }),
      fc.record({ kind: fc.constant('ssh' as const), command: fc.string({ maxLength: 200 }) }),
      fc.record(
        {
          kind: fc.constant('kubernetes' as const),
          verb: fc.string(),
          resource: fc.string(),
          subresource: fc.string(),
          namespace: fc.string(),
        },
        { requiredKeys: ['kind', 'verb'] },
      ),
      fc.record({ kind: fc.constant('http' as const), method: fc.string(), path: fc.string() }),
    );
    fc.assert(
      fc.property(
        fc.array(guardrail, { maxLength: 4 }),
        anyFacts,
        fc.boolean(),
        (guardrails, f, readOnly) => {
          const decision = decideCommand(policyWith(guardrails), { subject, connection, readOnly }, f);
          expect(['allow', 'deny', 'require_approval']).toContain(decision.decision);
        },
      ),
      { numRuns: 300 },
    );
  });
});
