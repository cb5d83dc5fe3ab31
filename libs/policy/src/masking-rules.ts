import type { ConnectionContext, SubjectContext } from './context.types';
import { globMatch } from './glob';
import type { CommandFacts } from './command-facts';
import type { Detector, KubernetesMasking, Policy } from './policy.types';
import { matchApplies } from './selectors';

/** A Kubernetes masking rule as a session applies it, with the rule's name for the audit record. */
export interface KubernetesMaskingRule extends KubernetesMasking {
  readonly rule: string;
}

/** The masking a session must apply: the union of every masking rule that matches it. */
export interface MaskingRules {
  readonly detectors: readonly Detector[];
  /** `table.column` / `schema.table.column` globs whose values are masked whatever they contain. */
  readonly columns: readonly string[];
  /** Names of the rules that contributed detectors or columns (what SQL results are masked by), for the audit record. */
  readonly rules: readonly string[];
  /** Kubernetes objects whose fields are masked in API responses. */
  readonly kubernetes: readonly KubernetesMaskingRule[];
}

export const NO_MASKING: MaskingRules = { detectors: [], columns: [], rules: [], kubernetes: [] };

export function maskingRulesFor(
  policy: Policy,
  context: { readonly subject: SubjectContext; readonly connection: ConnectionContext },
): MaskingRules {
  const detectors = new Map<string, Detector>();
  const columns = new Set<string>();
  const rules: string[] = [];
  const kubernetes: KubernetesMaskingRule[] = [];
  for (const rule of policy.masking) {
    if (!matchApplies(rule.match, context.subject, context.connection)) continue;
    if (rule.kubernetes) kubernetes.push({ rule: rule.name, ...rule.kubernetes });
    // A rule that only masks Kubernetes objects says nothing about SQL results.
    if (rule.detectors.length === 0 && rule.columns.length === 0) continue;
    rules.push(rule.name);
    for (const d of rule.detectors) {
      detectors.set(d.kind === 'builtin' ? `builtin:${d.name}` : `custom:${d.name}:${d.pattern}`, d);
    }
    for (const c of rule.columns) columns.add(c);
  }
  if (rules.length === 0 && kubernetes.length === 0) return NO_MASKING;
  return { detectors: [...detectors.values()], columns: [...columns], rules, kubernetes };
}

/** A request on a Kubernetes resource, as masking reads it; one that could not be read might be on any. */
export interface KubernetesMaskedRequest {
  readonly group?: string;
  readonly resource?: string;
  readonly subresource?: string;
  readonly parseError?: string;
}

/** The session's Kubernetes masking rules that cover a request's resource (all of them for an unread request). */
function rulesCovering(masking: MaskingRules, request: KubernetesMaskedRequest): KubernetesMaskingRule[] {
  if (request.parseError !== undefined) return [...masking.kubernetes];
  const { group, resource, subresource } = request;
  if (resource === undefined || group === undefined) return [];
  const full = subresource ? `${resource}/${subresource}` : resource;
  return masking.kubernetes.filter(
    (rule) =>
      rule.resources.some((r) => globMatch(r, full) || globMatch(r, resource)) &&
      (!rule.groups || rule.groups.some((g) => (g === '' ? group === '' : globMatch(g, group)))),
  );
}

/**
 * The fields masked in responses to a request on this resource, and the rules that mask them;
 * undefined when none. A request that could not be read is masked under every rule.
 */
export function kubernetesMaskedFields(
  masking: MaskingRules,
  request: KubernetesMaskedRequest,
): { readonly fields: readonly string[]; readonly rules: readonly string[] } | undefined {
  const rules = rulesCovering(masking, request);
  if (rules.length === 0) return undefined;
  return {
    fields: [...new Set(rules.flatMap((rule) => rule.fields))],
    rules: rules.map((rule) => rule.rule),
  };
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Whether a JSON pointer reaches a masked value of an object, read as kube-apiserver's json-patch
 * library reads it: split at `/`, the first part ignored whatever it holds, `~1` and `~0` decoded.
 * The object itself, a masked field or anything in it, and the last-applied copy (or the metadata
 * or annotations holding it) count.
 */
function reachesMasked(pointer: string, fields: readonly string[]): boolean {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  const [top, second, third] = parts;
  if (top === undefined) return true;
  if (fields.includes(top)) return true;
  if (top !== 'metadata') return false;
  return (
    second === undefined || (second === 'annotations' && (third === undefined || third === LAST_APPLIED))
  );
}

/**
 * A JSON patch on a masked resource that reads a masked value (copy or move from it, test it) is
 * denied by the masking rule: the value would land where masking does not look (an annotation, an
 * error quoting a field) or, by whether a test applies, a guess would be confirmed. A JSON patch
 * that could not be read counts as reading everything.
 */
export function kubernetesMaskingDenial(
  masking: MaskingRules,
  facts: CommandFacts,
): { readonly message: string; readonly rule: string } | null {
  if (facts.kind !== 'kubernetes') return null;
  if (facts.patchUnread === undefined && (facts.patchReads ?? []).length === 0) return null;
  const what = `${facts.verb} ${facts.resource ?? 'the request'}`;
  for (const rule of rulesCovering(masking, facts)) {
    const quoted = `masking rule "${rule.rule}"`;
    if (facts.patchUnread !== undefined) {
      return {
        rule: rule.rule,
        message: `${what}: its JSON patch could not be read (${facts.patchUnread}) and could copy masked values where masking does not look, which ${quoted} does not allow`,
      };
    }
    const read = facts.patchReads?.find((r) => reachesMasked(r.pointer, rule.fields));
    if (read?.op === 'apply') {
      return {
        rule: rule.rule,
        message: `${what}: a server-side apply compares every field it sets with the stored one, and its conflicts (also under dryRun) tell whether a masked value (${rule.fields.join(', ')}) is the one sent, which ${quoted} does not allow`,
      };
    }
    if (read) {
      return {
        rule: rule.rule,
        message: `${what}: a JSON patch ${read.op} of ${JSON.stringify(read.pointer)} reads masked values (${rule.fields.join(', ')}), which ${quoted} does not allow (a value copied, moved or tested goes where masking does not look)`,
      };
    }
  }
  return null;
}
