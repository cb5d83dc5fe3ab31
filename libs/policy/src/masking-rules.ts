import type { ConnectionContext, SubjectContext } from './context.types';
import { globMatch } from './glob';
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

/** The fields masked in responses to a request on this resource, and the rules that mask them; undefined when none. */
export function kubernetesMaskedFields(
  masking: MaskingRules,
  request: { readonly group?: string; readonly resource?: string; readonly subresource?: string },
): { readonly fields: readonly string[]; readonly rules: readonly string[] } | undefined {
  const { group, resource, subresource } = request;
  if (resource === undefined || group === undefined) return undefined;
  const full = subresource ? `${resource}/${subresource}` : resource;
  const fields = new Set<string>();
  const rules: string[] = [];
  for (const rule of masking.kubernetes) {
    if (!rule.resources.some((r) => globMatch(r, full) || globMatch(r, resource))) continue;
    if (rule.groups && !rule.groups.some((g) => (g === '' ? group === '' : globMatch(g, group)))) continue;
    rules.push(rule.rule);
    for (const field of rule.fields) fields.add(field);
  }
  return rules.length > 0 ? { fields: [...fields], rules } : undefined;
}
