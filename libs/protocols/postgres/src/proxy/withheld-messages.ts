import type { Masker } from '@tollgate/masking';
import type { NoticeFields } from '../backend-messages';
import { isUntraced, type LineageSource, type StatementLineage } from '../sql/lineage/lineage.types';
import { describeSqlState } from './sqlstate-names';

/**
 * Whether a statement reads a masked column (or something untraced) anywhere: its results, its
 * filters, its writes. The server's errors and notices for such a statement may quote the values it
 * read (`invalid input syntax for type integer: "123-45-6789"` from `ssn::int`).
 */
export function readsMasked(statement: StatementLineage | undefined, masker: Masker): boolean {
  if (!statement) return true;
  const masked = (source: LineageSource) => isUntraced(source) || masker.isMaskedColumn(source);
  const outputs = statement.outputs;
  const results = outputs
    ? outputs.columns
      ? outputs.columns.some((c) => c.sources.some(masked))
      : outputs.anyColumn.some(masked)
    : false;
  return results || statement.filtered.some(masked) || statement.written.some(masked);
}

/**
 * An error or notice with the server's own words withheld: its severity and SQLSTATE stay (clients
 * and transaction blocks behave the same), its message says why, and the fields that can quote
 * values (detail, hint, context, internal query) are dropped.
 */
export function withheldFields(fields: NoticeFields): NoticeFields {
  const kept: NoticeFields = {};
  for (const key of ['S', 'V', 'C'] as const) if (fields[key] !== undefined) kept[key] = fields[key];
  kept['M'] =
    `the server's message is withheld because the statement reads masked columns or values Tollgate cannot trace (SQLSTATE ${describeSqlState(fields['C'])})`;
  return kept;
}
