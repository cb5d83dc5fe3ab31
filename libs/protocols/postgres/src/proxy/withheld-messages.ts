import type { NoticeFields } from '../backend-messages';
import { describeSqlState } from './sqlstate-names';

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
