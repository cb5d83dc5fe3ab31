import type {
  CommandFacts,
  HttpCommandFacts,
  KubernetesCommandFacts,
  SqlCommandFacts,
  SqlStatementFacts,
  SshCommandFacts,
} from './command-facts';
import type { ConnectionContext, SubjectContext } from './context.types';
import { globMatch, globMatchIgnoreCase } from './glob';
import { maskingRulesFor, type MaskingRules } from './masking-rules';
import type { CommandMatchers, Guardrail, Policy } from './policy.types';
import { matchApplies } from './selectors';
import {
  HTTP_READ_METHODS,
  KUBERNETES_READ_VERBS,
  normalizeStatementType,
  READ_ONLY_STATEMENTS,
  selectorCovers,
  statementFamily,
} from './vocabulary';

/** The session a command runs in. */
export interface CommandContext {
  readonly subject: SubjectContext;
  readonly connection: ConnectionContext;
  /** Whether the session was opened read-only (AccessDecision.session.readOnly, or a read-only grant). */
  readonly readOnly: boolean;
}

/** One approval a held command needs: `minApprovals` distinct reviewers matching `approvers`. */
export interface ApprovalRequirement {
  readonly rule: string;
  readonly approvers: readonly string[];
  readonly minApprovals: number;
  readonly timeoutSeconds: number;
  readonly message: string;
}

/** The rule name used for denials that come from the session being read-only. */
export const READ_ONLY_RULE = 'sessions.read_only';

export type CommandDecision =
  | { readonly decision: 'allow'; readonly masking: MaskingRules }
  | { readonly decision: 'deny'; readonly message: string; readonly rule: string }
  | ({
      readonly decision: 'require_approval';
      /**
       * Every approval rule that caught the command; the command runs only once all are satisfied.
       * The top-level fields repeat the first one, for the common single-rule case.
       */
      readonly requirements: readonly ApprovalRequirement[];
      readonly masking: MaskingRules;
    } & ApprovalRequirement);

type Verdict = 'match' | 'no' | 'unclassified';

/**
 * Decides one command. Denials come first and the first one wins: the read-only check, then each
 * guardrail in document order (its `deny`, its `require_where`). A command the engine could not
 * classify is denied by any applicable guardrail whose rules depend on classification (and by a
 * read-only session). Only when nothing denies do approval rules apply; otherwise the command is
 * allowed. Allowed and held commands carry the masking rules that apply to their results.
 */
export function decideCommand(policy: Policy, context: CommandContext, facts: CommandFacts): CommandDecision {
  if (context.readOnly) {
    const denial = readOnlyDenial(facts);
    if (denial !== null) return { decision: 'deny', message: denial, rule: READ_ONLY_RULE };
  }

  const guardrails = policy.guardrails.filter((g) =>
    matchApplies(g.match, context.subject, context.connection),
  );
  for (const guardrail of guardrails) {
    const denial = guardrailDenial(guardrail, facts);
    if (denial !== null) return { decision: 'deny', message: denial, rule: guardrail.name };
  }

  const requirements: ApprovalRequirement[] = [];
  for (const guardrail of guardrails) {
    const rule = guardrail.requireApproval;
    if (rule && catches(rule, facts) === 'match') {
      requirements.push({
        rule: guardrail.name,
        approvers: rule.approvers,
        minApprovals: rule.minApprovals,
        timeoutSeconds: rule.timeoutSeconds,
        message:
          rule.message ?? `${describe(facts, rule)} requires approval (policy rule "${guardrail.name}")`,
      });
    }
  }
  const masking = maskingRulesFor(policy, context);
  const [first] = requirements;
  if (first) return { decision: 'require_approval', ...first, requirements, masking };
  return { decision: 'allow', masking };
}

function guardrailDenial(guardrail: Guardrail, facts: CommandFacts): string | null {
  const quoted = `policy rule "${guardrail.name}"`;
  if (guardrail.deny) {
    const verdict = catches(guardrail.deny, facts);
    if (verdict === 'match')
      return guardrail.deny.message ?? `${describe(facts, guardrail.deny)} is denied by ${quoted}`;
    if (verdict === 'unclassified') return unclassifiedMessage(facts, quoted);
  }
  if (guardrail.requireWhere && facts.kind === 'sql') {
    if (!isClassified(facts)) return unclassifiedMessage(facts, quoted);
    const required = new Set<string>(guardrail.requireWhere);
    const bare = facts.statements.find(
      (s) => required.has(normalizeStatementType(s.type)) && s.hasWhere !== true,
    );
    if (bare) return `${normalizeStatementType(bare.type)} without a WHERE clause is denied by ${quoted}`;
  }
  // An approval rule that cannot tell whether it applies must not let the command through unasked.
  if (guardrail.requireApproval && catches(guardrail.requireApproval, facts) === 'unclassified') {
    return unclassifiedMessage(facts, quoted);
  }
  return null;
}

function unclassifiedMessage(facts: CommandFacts, quoted: string): string {
  const why = facts.parseError ? ` (${facts.parseError})` : '';
  return `the command could not be classified${why}, and ${quoted} depends on its classification`;
}

function readOnlyDenial(facts: CommandFacts): string | null {
  const suffix = 'is not allowed in a read-only session';
  switch (facts.kind) {
    case 'sql': {
      if (!isClassified(facts)) return unclassifiedMessage(facts, 'the read-only session');
      const write = facts.statements.find((s) => !isRead(s));
      return write ? `${normalizeStatementType(write.type)} ${suffix}` : null;
    }
    case 'ssh':
      // A shell command's effect cannot be told from its text, so none is treated as a read.
      return `SSH commands are not allowed in a read-only session`;
    case 'kubernetes': {
      if (facts.parseError !== undefined) return unclassifiedMessage(facts, 'the read-only session');
      const interactive = ['exec', 'attach', 'portforward', 'proxy'].includes(facts.subresource ?? '');
      if (interactive || !KUBERNETES_READ_VERBS.has(facts.verb)) return `${describe(facts)} ${suffix}`;
      return null;
    }
    case 'http':
      if (facts.parseError !== undefined) return unclassifiedMessage(facts, 'the read-only session');
      return HTTP_READ_METHODS.has(facts.method.toUpperCase()) ? null : `${describe(facts)} ${suffix}`;
    default:
      return 'the command could not be classified, and the read-only session depends on its classification';
  }
}

/** Does a deny/approval block catch the command? Each matcher only looks at its own kind of facts. */
function catches(matchers: CommandMatchers, facts: CommandFacts): Verdict {
  switch (facts.kind) {
    case 'sql':
      return matchers.statements ? catchesSql(matchers, facts) : 'no';
    case 'ssh':
      return matchers.commands ? catchesSsh(matchers.commands, facts) : 'no';
    case 'kubernetes':
      return matchers.kubernetes ? catchesKubernetes(matchers, facts) : 'no';
    case 'http':
      return matchers.http ? catchesHttp(matchers, facts) : 'no';
    default:
      // A kind this engine does not know cannot be told apart from a covered one.
      return hasAnyMatcher(matchers) ? 'unclassified' : 'no';
  }
}

function hasAnyMatcher(m: CommandMatchers): boolean {
  return (
    m.statements !== undefined ||
    m.commands !== undefined ||
    m.kubernetes !== undefined ||
    m.http !== undefined
  );
}

function isRead(statement: SqlStatementFacts): boolean {
  const type = normalizeStatementType(statement.type);
  return (
    statement.readOnly !== false &&
    READ_ONLY_STATEMENTS.some((selector) => selectorCovers(selector, type)) &&
    !selectorCovers('WRITE', type)
  );
}

function isClassified(facts: SqlCommandFacts): boolean {
  return facts.parseError === undefined && facts.statements.every((s) => statementFamily(s.type) !== null);
}

function catchesSql(matchers: CommandMatchers, facts: SqlCommandFacts): Verdict {
  if (!isClassified(facts)) return 'unclassified';
  const selectors = matchers.statements ?? [];
  let verdict: Verdict = 'no';
  for (const statement of facts.statements) {
    const type = normalizeStatementType(statement.type);
    if (!selectors.some((selector) => selectorCovers(selector, type))) continue;
    const onTables = tablesMatch(matchers.tables, statement);
    if (onTables === 'match') return 'match';
    if (onTables === 'unclassified') verdict = 'unclassified';
  }
  return verdict;
}

function tablesMatch(patterns: readonly string[] | undefined, statement: SqlStatementFacts): Verdict {
  if (patterns === undefined) return 'match';
  if (statement.tables === undefined) return 'unclassified';
  const hit = statement.tables.some((table) =>
    patterns.some((pattern) => {
      if (globMatchIgnoreCase(pattern, table)) return true;
      // `users` in a policy covers `public.users`; `public.users` does not cover `audit.users`.
      const unqualified = table.slice(table.lastIndexOf('.') + 1);
      return !pattern.includes('.') && globMatchIgnoreCase(pattern, unqualified);
    }),
  );
  return hit ? 'match' : 'no';
}

const commandPatterns = new Map<string, RegExp>();

function catchesSsh(patterns: readonly string[], facts: SshCommandFacts): Verdict {
  if (facts.parseError !== undefined) return 'unclassified';
  const hit = patterns.some((pattern) => {
    let re = commandPatterns.get(pattern);
    if (!re) {
      // `m`: in multi-line input `^` and `$` anchor at every line, so `^rm` catches a second line too.
      re = new RegExp(pattern, 'm');
      commandPatterns.set(pattern, re);
    }
    return re.test(facts.command);
  });
  return hit ? 'match' : 'no';
}

function catchesKubernetes(matchers: CommandMatchers, facts: KubernetesCommandFacts): Verdict {
  if (facts.parseError !== undefined) return 'unclassified';
  const rule = matchers.kubernetes;
  if (!rule) return 'no';
  if (rule.verbs && !rule.verbs.some((v) => globMatch(v, facts.verb))) return 'no';
  if (rule.resources) {
    if (facts.resource === undefined) return 'no';
    const full = facts.subresource ? `${facts.resource}/${facts.subresource}` : facts.resource;
    if (!rule.resources.some((r) => globMatch(r, full))) return 'no';
  }
  // A request without a namespace spans all of them (or is cluster-scoped), so it is covered.
  if (rule.namespaces && facts.namespace !== undefined) {
    const namespace = facts.namespace;
    if (!rule.namespaces.some((n) => globMatch(n, namespace))) return 'no';
  }
  return 'match';
}

function catchesHttp(matchers: CommandMatchers, facts: HttpCommandFacts): Verdict {
  if (facts.parseError !== undefined) return 'unclassified';
  const rule = matchers.http;
  if (!rule) return 'no';
  if (rule.methods && !rule.methods.some((m) => globMatchIgnoreCase(m, facts.method))) return 'no';
  if (rule.paths && !rule.paths.some((p) => globMatch(p, facts.path))) return 'no';
  return 'match';
}

/** Names what was caught: with `matchers`, the first SQL statement they catch. */
function describe(facts: CommandFacts, matchers?: CommandMatchers): string {
  switch (facts.kind) {
    case 'sql': {
      const caught = matchers
        ? facts.statements.find((s) => catchesSql(matchers, { kind: 'sql', statements: [s] }) === 'match')
        : facts.statements[0];
      return caught ? normalizeStatementType(caught.type) : 'the statement';
    }
    case 'ssh':
      return 'the command';
    case 'kubernetes': {
      const what = facts.resource
        ? facts.subresource
          ? `${facts.resource}/${facts.subresource}`
          : facts.resource
        : 'the request';
      return `${facts.verb} ${what}`;
    }
    case 'http':
      return `${facts.method.toUpperCase()} ${facts.path}`;
    default:
      return 'the command';
  }
}
