import type { ConnectionContext, SubjectContext } from './context.types';
import type { Detector, Policy } from './policy.types';
import { matchApplies } from './selectors';

/** The masking a session must apply: the union of every masking rule that matches it. */
export interface MaskingRules {
  readonly detectors: readonly Detector[];
  /** `table.column` / `schema.table.column` globs whose values are masked whatever they contain. */
  readonly columns: readonly string[];
  /** Names of the rules that contributed, for the audit record. */
  readonly rules: readonly string[];
}

export const NO_MASKING: MaskingRules = { detectors: [], columns: [], rules: [] };

export function maskingRulesFor(
  policy: Policy,
  context: { readonly subject: SubjectContext; readonly connection: ConnectionContext },
): MaskingRules {
  const detectors = new Map<string, Detector>();
  const columns = new Set<string>();
  const rules: string[] = [];
  for (const rule of policy.masking) {
    if (!matchApplies(rule.match, context.subject, context.connection)) continue;
    rules.push(rule.name);
    for (const d of rule.detectors) {
      detectors.set(d.kind === 'builtin' ? `builtin:${d.name}` : `custom:${d.name}:${d.pattern}`, d);
    }
    for (const c of rule.columns) columns.add(c);
  }
  if (rules.length === 0) return NO_MASKING;
  return { detectors: [...detectors.values()], columns: [...columns], rules };
}
