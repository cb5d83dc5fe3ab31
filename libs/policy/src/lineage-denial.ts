import type { CommandFacts, LineageColumn, SqlStatementFacts } from './command-facts';
import type { ConnectionContext, SubjectContext } from './context.types';
import type { MaskingRule, Policy } from './policy.types';
import { matchApplies } from './selectors';
import { normalizeStatementType } from './vocabulary';

/**
 * Masked values leaving by doors other than the result: a statement that stores a value made from a
 * masked column anywhere, or renames a masked column (its table, its schema) so the rule no longer
 * names it, is denied by the masking rule that masks it; one that returns a value made
 * from a masked column other than as the column itself is denied under `on_derived: deny`; one that
 * filters on a masked column under `predicates: deny`. What the engine could not trace counts as
 * masked by every rule with columns (fail closed).
 */
export function lineageDenial(
  policy: Policy,
  context: { readonly subject: SubjectContext; readonly connection: ConnectionContext },
  facts: CommandFacts,
): { readonly message: string; readonly rule: string } | null {
  if (facts.kind !== 'sql') return null;
  if (facts.parseError !== undefined && facts.unparsedMayStore) {
    const rule = policy.masking.find(
      (r) => r.columns.length > 0 && matchApplies(r.match, context.subject, context.connection),
    );
    if (rule)
      return {
        message: `a statement the parser could not read (${facts.parseError}) may store values whose origin cannot be traced anywhere, which masking rule "${rule.name}" does not allow (masked values may not be written)`,
        rule: rule.name,
      };
  }
  if (!facts.statements.some((s) => s.lineage)) return null;
  for (const rule of policy.masking) {
    if (rule.columns.length === 0 || !matchApplies(rule.match, context.subject, context.connection)) continue;
    for (const statement of facts.statements) {
      const message = statementDenial(rule, statement);
      if (message) return { message, rule: rule.name };
    }
  }
  return null;
}

function statementDenial(rule: MaskingRule, statement: SqlStatementFacts): string | undefined {
  const lineage = statement.lineage;
  if (!lineage) return undefined;
  const type = normalizeStatementType(statement.type);
  const quoted = `masking rule "${rule.name}"`;
  const renamed = lineage.renamed?.find((c) => masks(rule, c));
  if (renamed)
    return `${type} renames ${'untraced' in renamed ? `what it cannot trace (${renamed.untraced})` : `masked column ${renamed.schema}.${renamed.table}.${renamed.column}`} or moves it out of its name, which ${quoted} does not allow (masking rules name the columns they mask)`;
  const written = lineage.written.find((c) => masks(rule, c));
  if (written)
    return `${type} stores ${valuesOf(written)} anywhere, which ${quoted} does not allow (masked values may not be written)`;
  const derived = rule.onDerived === 'deny' ? lineage.derived.find((c) => masks(rule, c)) : undefined;
  if (derived)
    return `${type} returns ${valuesOf(derived)} other than as the column itself, denied by ${quoted} (on_derived: deny)`;
  const filtered = rule.predicates === 'deny' ? lineage.filtered.find((c) => masks(rule, c)) : undefined;
  if (filtered)
    return `${type} filters, joins, groups or orders on ${valuesOf(filtered)}, denied by ${quoted} (predicates: deny)`;
  return undefined;
}

function valuesOf(column: LineageColumn): string {
  return 'untraced' in column
    ? `values whose origin cannot be traced (${column.untraced})`
    : `values of masked column ${column.schema}.${column.table}.${column.column}`;
}

/** Whether a rule's column globs cover a column (an untraced value is covered by every rule). */
export function masks(rule: Pick<MaskingRule, 'columns'>, column: LineageColumn): boolean {
  if ('untraced' in column) return rule.columns.length > 0;
  return rule.columns.some((glob) => columnGlobMatches(glob, column));
}

/** `table.column` or `schema.table.column`; `*` matches within one part; case-insensitive. */
export function columnGlobMatches(
  glob: string,
  column: { readonly schema: string; readonly table: string; readonly column: string },
): boolean {
  const parts = glob.split('.');
  const name =
    parts.length === 3 ? [column.schema, column.table, column.column] : [column.table, column.column];
  return parts.length === name.length && parts.every((part, i) => partMatches(part, name[i] as string));
}

/** Compiled glob parts: every statement's lineage is checked against the same few globs. */
const compiledParts = new Map<string, RegExp>();

function partMatches(pattern: string, value: string): boolean {
  let regex = compiledParts.get(pattern);
  if (!regex) {
    const source = pattern
      .split('*')
      .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    regex = new RegExp(`^${source}$`, 'is');
    if (compiledParts.size < 4096) compiledParts.set(pattern, regex);
  }
  return regex.test(value);
}
