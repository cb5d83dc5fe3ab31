import type { Masker, ValueKind } from '@tollgate/masking';
import type { FieldDescription } from '../backend-messages';
import type { ColumnName } from './column-catalog';

const TEXT_TYPES = new Set([25, 1043, 1042, 19, 18, 705, 142]); // text varchar bpchar name char unknown xml
const JSON_TYPES = new Set([114, 3802]); // json jsonb
const NUMBER_TYPES = new Set([20, 21, 23, 26, 700, 701, 1700]); // int8 int2 int4 oid float4 float8 numeric

/**
 * How a value of this column may be rewritten and still parse as its type:
 * `content` is the kind used for content detectors, `column` the kind used when a column rule
 * replaces the whole value (json would not parse as "********", so it becomes NULL).
 */
export function valueKinds(field: FieldDescription): { content: ValueKind; column: ValueKind } {
  const binary = field.format === 1;
  if (TEXT_TYPES.has(field.dataTypeId)) return { content: 'text', column: 'text' };
  if (!binary && JSON_TYPES.has(field.dataTypeId)) return { content: 'text', column: 'opaque' };
  if (!binary && NUMBER_TYPES.has(field.dataTypeId)) return { content: 'number', column: 'number' };
  return { content: 'opaque', column: 'opaque' };
}

export interface MaskedRow {
  readonly values: (Buffer | null)[];
  readonly changed: boolean;
  readonly reasons: ReadonlySet<string>;
}

/** Applies column rules and content detectors to one row. Values that need no change are kept as is. */
export function maskRow(
  values: readonly (Buffer | null)[],
  fields: readonly FieldDescription[],
  masker: Masker,
  columnName: (field: FieldDescription) => ColumnName | undefined,
): MaskedRow {
  const out = [...values];
  const reasons = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const field = fields[i];
    if (value === null || value === undefined || !field) continue;
    const kinds = valueKinds(field);
    const name = columnName(field);
    if (name && masker.isMaskedColumn(name)) {
      const masked = masker.maskColumnValue(value.toString('utf8'), kinds.column);
      out[i] = masked.value === null ? null : Buffer.from(masked.value, 'utf8');
      reasons.add(`column:${name.table}.${name.column}`);
      continue;
    }
    if (kinds.content === 'opaque') continue;
    const masked = masker.maskContent(value.toString('utf8'), kinds.content);
    if (masked.reasons.length === 0) continue;
    out[i] = masked.value === null ? null : Buffer.from(masked.value, 'utf8');
    for (const reason of masked.reasons) reasons.add(reason);
  }
  return { values: out, changed: reasons.size > 0, reasons };
}

/** COPY TO text format: one row per CopyData, columns separated by tabs, NULL as \N. */
export function maskCopyTextRow(row: Buffer, masker: Masker): { row: Buffer; reasons: readonly string[] } {
  const text = row.toString('utf8');
  const newline = text.endsWith('\n') ? '\n' : '';
  const reasons = new Set<string>();
  const columns = (newline ? text.slice(0, -1) : text).split('\t').map((column) => {
    if (column === '\\N') return column;
    const masked = masker.maskContent(column, 'text');
    for (const reason of masked.reasons) reasons.add(reason);
    return masked.value ?? column;
  });
  if (reasons.size === 0) return { row, reasons: [] };
  return { row: Buffer.from(columns.join('\t') + newline, 'utf8'), reasons: [...reasons] };
}
