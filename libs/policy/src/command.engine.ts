import type {
  CommandFacts,
  HttpCommandFacts,
  KubernetesCommandFacts,
  SqlCommandFacts,
  SqlStatementFacts,
  SshCommandFacts,
} from './command-facts';
import type { ConnectionContext, SubjectContext } from './context.types';
import { readShellCommand } from './shell-command-reading';
import { globMatch, globMatchIgnoreCase } from './glob';
import { lineageDenial } from './lineage-denial';
import { kubernetesMaskingDenial, maskingRulesFor, type MaskingRules } from './masking-rules';
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

/** `opaque`: a statement runs opaque code that no applicable guardrail allows by name. */
type Verdict = 'match' | 'no' | 'unclassified' | 'opaque';

/** Opaque-code kinds the applicable guardrails allow by name (`*`: all). */
type AllowedOpaque = ReadonlySet<string>;

/**
 * Decides one command. Denials come first and the first one wins: the read-only check, then each
 * guardrail in document order (its `deny`, its `require_where`). A command the engine could not
 * classify is denied by any applicable guardrail whose rules depend on classification (and by a
 * read-only session). Opaque code (a statement running what its text does not show) is denied by
 * any applicable guardrail that inspects SQL, and in a session with masking, unless an applicable
 * guardrail allows its kind by name; an approval rule holds it for review. Only when nothing denies
 * do approval rules apply; otherwise the command is allowed. Allowed and held commands carry the
 * masking rules that apply to their results.
 */
export function decideCommand(policy: Policy, context: CommandContext, facts: CommandFacts): CommandDecision {
  if (context.readOnly) {
    const denial = readOnlyDenial(facts);
    if (denial !== null) return { decision: 'deny', message: denial, rule: READ_ONLY_RULE };
  }

  const guardrails = policy.guardrails.filter((g) =>
    matchApplies(g.match, context.subject, context.connection),
  );
  const allowed: AllowedOpaque = new Set(guardrails.flatMap((g) => g.allow?.opaque ?? []));
  for (const guardrail of guardrails) {
    const denial = guardrailDenial(guardrail, facts, allowed);
    if (denial !== null) return { decision: 'deny', message: denial, rule: guardrail.name };
  }
  const masking = maskingRulesFor(policy, context);
  // Opaque code can hand masked values out by ways masking does not see (notices, errors, writes).
  const hidden = masking.rules.length > 0 ? unallowedOpaque(facts, allowed) : undefined;
  const [maskingRule] = masking.rules;
  if (hidden && maskingRule !== undefined) {
    return {
      decision: 'deny',
      message: `${describeOpaque(hidden, facts)} is opaque code (what it runs cannot be inspected), denied because masking rule "${maskingRule}" applies to this session; ${allowHint(hidden)}`,
      rule: maskingRule,
    };
  }
  // Masked values leaving by writes, derived outputs or filters (see lineage-denial.ts).
  const leak = lineageDenial(policy, context, facts) ?? kubernetesMaskingDenial(masking, facts);
  if (leak) return { decision: 'deny', ...leak };

  const requirements: ApprovalRequirement[] = [];
  for (const guardrail of guardrails) {
    const rule = guardrail.requireApproval;
    const verdict = rule ? catches(rule, facts, allowed) : 'no';
    if (rule && (verdict === 'match' || verdict === 'opaque')) {
      const opaque = verdict === 'opaque' ? unallowedOpaque(facts, allowed) : undefined;
      requirements.push({
        rule: guardrail.name,
        approvers: rule.approvers,
        minApprovals: rule.minApprovals,
        timeoutSeconds: rule.timeoutSeconds,
        message:
          rule.message ??
          (opaque
            ? `${describeOpaque(opaque, facts)} is opaque code (what it runs cannot be inspected) and requires approval (policy rule "${guardrail.name}")`
            : `${describe(facts, rule)} requires approval (policy rule "${guardrail.name}")`),
      });
    }
  }
  const [first] = requirements;
  if (first) return { decision: 'require_approval', ...first, requirements, masking };
  return { decision: 'allow', masking };
}

function guardrailDenial(guardrail: Guardrail, facts: CommandFacts, allowed: AllowedOpaque): string | null {
  const quoted = `policy rule "${guardrail.name}"`;
  if (guardrail.deny) {
    const verdict = catches(guardrail.deny, facts, allowed);
    if (verdict === 'match')
      return guardrail.deny.message ?? `${describe(facts, guardrail.deny)} is denied by ${quoted}`;
    if (verdict === 'unclassified') return unclassifiedMessage(facts, quoted);
    if (verdict === 'opaque') return opaqueMessage(facts, allowed, quoted);
  }
  if (guardrail.requireWhere && facts.kind === 'sql' && !unparsedAllowed(facts, allowed)) {
    if (!isClassified(facts)) return unclassifiedMessage(facts, quoted);
    // Code the parser cannot see into may update or delete without any WHERE.
    if (unallowedOpaque(facts, allowed)) return opaqueMessage(facts, allowed, quoted);
    const required = new Set<string>(guardrail.requireWhere);
    const bare = facts.statements.find(
      (s) => required.has(normalizeStatementType(s.type)) && s.hasWhere !== true,
    );
    if (bare)
      return `${normalizeStatementType(bare.type)} without a WHERE clause that restricts its rows is denied by ${quoted}`;
  }
  // An approval rule that cannot tell whether it applies must not let the command through unasked.
  if (guardrail.requireApproval && catches(guardrail.requireApproval, facts, allowed) === 'unclassified') {
    return unclassifiedMessage(facts, quoted);
  }
  return null;
}

/** The first kind of opaque code in the command that no applicable guardrail allows, with its statement. */
function unallowedOpaque(
  facts: CommandFacts,
  allowed: AllowedOpaque,
): { readonly kind: string; readonly statement?: SqlStatementFacts } | undefined {
  if (facts.kind !== 'sql' || allowed.has('*')) return undefined;
  if (facts.parseError !== undefined) return allowed.has('UNPARSED') ? undefined : { kind: 'UNPARSED' };
  for (const statement of facts.statements) {
    const kind = (statement.opaque ?? []).find((k) => !allowed.has(k));
    if (kind !== undefined) return { kind, statement };
  }
  return undefined;
}

function unparsedAllowed(facts: SqlCommandFacts, allowed: AllowedOpaque): boolean {
  return facts.parseError !== undefined && (allowed.has('UNPARSED') || allowed.has('*'));
}

function describeOpaque(
  opaque: { readonly kind: string; readonly statement?: SqlStatementFacts },
  facts: CommandFacts,
): string {
  const type = opaque.statement ? normalizeStatementType(opaque.statement.type) : '';
  switch (opaque.kind) {
    case 'UNPARSED':
      return `a statement the parser could not read${facts.parseError ? ` (${facts.parseError})` : ''}`;
    case 'EXECUTE':
      return 'EXECUTE of a statement this session did not prepare';
    case 'FUNCTION CALL':
      return 'a fast-path function call';
    case 'DYNAMIC SQL':
      return `${type} calling a function that runs a query string`;
    case 'CODE SETTING':
      return `${type} of a setting that loads code or lets functions shadow built-in ones`;
    case 'COPY PROGRAM':
      return 'COPY ... PROGRAM';
    default:
      return type === opaque.kind || type === '' ? opaque.kind : `${type} with ${opaque.kind}`;
  }
}

function allowHint(opaque: { readonly kind: string }): string {
  return `a guardrail with allow: {opaque: ['${opaque.kind}']} lets it run`;
}

function opaqueMessage(facts: CommandFacts, allowed: AllowedOpaque, quoted: string): string {
  const opaque = unallowedOpaque(facts, allowed) ?? { kind: 'UNPARSED' };
  return `${describeOpaque(opaque, facts)} is opaque code (what it runs cannot be inspected), denied by ${quoted}; ${allowHint(opaque)}`;
}

function unclassifiedMessage(facts: CommandFacts, quoted: string): string {
  const reason = facts.parseError ?? (facts.kind === 'http' ? facts.methodUnread : undefined);
  const why = reason ? ` (${reason})` : '';
  return `the command could not be classified${why}, and ${quoted} depends on its classification`;
}

function readOnlyDenial(facts: CommandFacts): string | null {
  const suffix = 'is not allowed in a read-only session';
  switch (facts.kind) {
    case 'sql': {
      if (!isClassified(facts)) return unclassifiedMessage(facts, 'the read-only session');
      const write = facts.statements.find((s) => !isRead(s));
      if (!write) return null;
      const type = normalizeStatementType(write.type);
      const opaque = write.opaque ?? [];
      return opaque.length > 0 && !opaque.includes(type)
        ? `${type} runs opaque code (${opaque.join(', ')}), which ${suffix}`
        : `${type} ${suffix}`;
    }
    case 'ssh':
      // A shell command's effect cannot be told from its text, so none is treated as a read.
      return `SSH commands are not allowed in a read-only session`;
    case 'kubernetes': {
      if (facts.parseError !== undefined) return unclassifiedMessage(facts, 'the read-only session');
      const interactive = ['exec', 'attach', 'portforward', 'proxy'].includes(facts.subresource ?? '');
      if (interactive || !KUBERNETES_READ_VERBS.has(facts.verb)) return `${describe(facts)} ${suffix}`;
      // After a switch both sides send what they like, unread: only a watch's client sends nothing
      // the server acts on (an aggregated API's console, authorized as get, takes typed input).
      if (facts.upgrade !== undefined && (facts.verb !== 'watch' || facts.subresource !== undefined)) {
        return `${describe(facts)} switching to ${facts.upgrade} ${suffix}`;
      }
      return null;
    }
    case 'http':
      if (facts.parseError !== undefined) return unclassifiedMessage(facts, 'the read-only session');
      if (facts.upgrade !== undefined) {
        // After the switch the client sends what it likes, unread: no read.
        return `${describe(facts)} switching to ${facts.upgrade} ${suffix}`;
      }
      return HTTP_READ_METHODS.has(facts.method.toUpperCase()) ? null : `${describe(facts)} ${suffix}`;
    default:
      return 'the command could not be classified, and the read-only session depends on its classification';
  }
}

/** Does a deny/approval block catch the command? Each matcher only looks at its own kind of facts. */
function catches(matchers: CommandMatchers, facts: CommandFacts, allowed: AllowedOpaque): Verdict {
  switch (facts.kind) {
    case 'sql':
      return matchers.statements ? catchesSql(matchers, facts, allowed) : 'no';
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

/**
 * A rule on SQL statements catches a statement it names; it cannot tell what opaque code runs, so
 * that is caught too (`opaque`) unless allowed by name. An unparsed command allowed by name
 * (UNPARSED) has no statements to catch.
 */
function catchesSql(matchers: CommandMatchers, facts: SqlCommandFacts, allowed: AllowedOpaque): Verdict {
  if (unparsedAllowed(facts, allowed)) return 'no';
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
  if (verdict === 'no' && unallowedOpaque(facts, allowed)) return 'opaque';
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
  const reading = readShellCommand(facts.command);
  const hit = patterns.some((pattern) => {
    let re = commandPatterns.get(pattern);
    if (!re) {
      // `m`: in multi-line input `^` and `$` anchor at every line, so `^rm` catches a second line too.
      re = new RegExp(pattern, 'm');
      commandPatterns.set(pattern, re);
    }
    // Quotes and backslashes are undone by the shell (`r''m`, `\\rm`), and a command may come after
    // another (`ls; rm`) or a wrapper (`env rm`, `/bin/rm`): a pattern sees each form.
    return re.test(facts.command) || re.test(reading.dequoted) || re.test(reading.commands);
  });
  return hit ? 'match' : 'no';
}

function catchesKubernetes(matchers: CommandMatchers, facts: KubernetesCommandFacts): Verdict {
  if (facts.parseError !== undefined) return 'unclassified';
  const rule = matchers.kubernetes;
  if (!rule) return 'no';
  const verbs = [facts.verb, ...(facts.rbacVerbs ?? [])];
  if (rule.verbs && !rule.verbs.some((v) => verbs.some((verb) => globMatch(v, verb)))) return 'no';
  if (rule.groups) {
    // Non-resource URLs (/healthz, /version) belong to no group.
    const group = facts.group;
    if (group === undefined || !rule.groups.some((g) => (g === '' ? group === '' : globMatch(g, group)))) {
      return 'no';
    }
  }
  // A request without a name (list, watch, create, deletecollection) spans every name, so a name
  // rule covers it.
  if (rule.names && facts.name !== undefined) {
    const name = facts.name;
    if (!rule.names.some((n) => globMatch(n, name))) return 'no';
  }
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
  if (rule.paths && !rule.paths.some((p) => httpPathMatch(p, facts.path))) return 'no';
  if (rule.methods) {
    if (facts.methodUnread !== undefined) return 'unclassified';
    // Servers answer HEAD with the GET handler (Express, Rails, Django, Go's ServeMux, RFC 9110: the
    // same as GET without the content), which runs whatever it does: a rule on GET catches HEAD.
    const methods = facts.method.toUpperCase() === 'HEAD' ? [facts.method, 'GET'] : [facts.method];
    if (!rule.methods.some((m) => methods.some((method) => globMatchIgnoreCase(m, method)))) return 'no';
  }
  return 'match';
}

/**
 * A path rule catches every path a server might route where the rule's path is: many route without
 * regard to case (Express's and ASP.NET's defaults, IIS; beyond ASCII too, see below), to a trailing slash (`/admin/` reaching
 * `/admin`) or to a format suffix on the last segment (Rails routes `/admin(.:format)`, so
 * `/admin.json` is `/admin`; Spring MVC before 5.3 matched `/admin.*`). Rules only deny or ask for
 * approval, so reading them wide fails closed.
 */
function httpPathMatch(pattern: string, path: string): boolean {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const readings = new Set([path, trimmed]);
  // The last segment cut before each of its dots (not a leading one: `/.well-known` stays).
  const segment = trimmed.lastIndexOf('/') + 1;
  for (let dot = trimmed.indexOf('.', segment + 1); dot > 0; dot = trimmed.indexOf('.', dot + 1)) {
    readings.add(trimmed.slice(0, dot));
  }
  // Case folded beyond ASCII as servers fold it: Java's equalsIgnoreCase and .NET's OrdinalIgnoreCase
  // (ASP.NET Core routing) upper-case each character, so `/ınternal` (dotless ı) and `/ſecret` (long
  // s) are `/INTERNAL` and `/SECRET` there, and lower-case it, so the Kelvin sign `K` is `k`.
  for (const reading of [...readings]) {
    readings.add(reading.toUpperCase());
    readings.add(reading.toLowerCase());
  }
  return [...readings].some((reading) => globMatchIgnoreCase(pattern, reading));
}

/** Names what was caught: with `matchers`, the first SQL statement they catch. */
function describe(facts: CommandFacts, matchers?: CommandMatchers): string {
  switch (facts.kind) {
    case 'sql': {
      const caught = matchers
        ? facts.statements.find(
            (s) => catchesSql(matchers, { kind: 'sql', statements: [s] }, new Set(['*'])) === 'match',
          )
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
