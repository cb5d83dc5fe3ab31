import type { ColumnMask, Masker, ValueKind } from '@tollgate/masking';

export { columnMasks, type ColumnMask } from '@tollgate/masking';
import type { FieldDescription } from '../backend-messages';
import type { ColumnName } from './column-catalog';
import { joinCopyRow, splitCopyRow, type CopyField } from './copy-row';
import type { CopyFormat } from '../sql/lineage/lineage.types';

const TEXT_TYPES = new Set([25, 1043, 1042, 19, 18, 705, 142]); // text varchar bpchar name char unknown xml
const JSON_TYPES = new Set([114, 3802]); // json jsonb
const NUMBER_TYPES = new Set([20, 21, 23, 26, 700, 701, 1700]); // int8 int2 int4 oid float4 float8 numeric
const NUMBER_ARRAY_TYPES = new Set([1016, 1005, 1007, 1028, 1021, 1022, 1231]); // arrays of the above

/**
 * How a value of this column may be rewritten and still parse as its type:
 * `content` is the kind used for content detectors, `column` the kind used when a column rule
 * replaces the whole value (json would not parse as "********", so it becomes NULL).
 * `scan`: a binary value of a structured type (composite, array, jsonb, ...): detectors read its
 * bytes, and a value in which they find something becomes NULL, as it cannot be rewritten in place.
 */
export function valueKinds(field: FieldDescription | undefined): {
  content: ValueKind | 'scan';
  column: ValueKind;
} {
  // No row description for this result (an Execute without Describe): nothing is known of the type.
  if (!field) return { content: 'scan', column: 'opaque' };
  const binary = field.format === 1;
  if (TEXT_TYPES.has(field.dataTypeId)) return { content: 'text', column: 'text' };
  if (binary) return { content: 'scan', column: 'opaque' };
  if (JSON_TYPES.has(field.dataTypeId)) return { content: 'text', column: 'opaque' };
  if (NUMBER_TYPES.has(field.dataTypeId)) return { content: 'number', column: 'number' };
  if (NUMBER_ARRAY_TYPES.has(field.dataTypeId)) return { content: 'number', column: 'opaque' };
  // Composites, other arrays, ranges, any other type in text: detectors read the literal, and what
  // they replace keeps its structure (their replacements hold no quotes, commas or braces).
  return { content: 'text', column: 'opaque' };
}

export interface MaskedRow {
  readonly values: (Buffer | null)[];
  readonly changed: boolean;
  readonly reasons: ReadonlySet<string>;
}

/**
 * Applies lineage (`masks`, when the session traces it), column rules and content detectors to one
 * row. Values that need no change are kept as is.
 */
export function maskRow(
  values: readonly (Buffer | null)[],
  fields: readonly FieldDescription[],
  masker: Masker,
  columnName: (field: FieldDescription) => ColumnName | undefined,
  masks?: readonly ColumnMask[],
): MaskedRow {
  const out = [...values];
  const reasons = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null || value === undefined) continue;
    const field = fields.length === values.length ? fields[i] : undefined;
    const kinds = valueKinds(field);
    const name = field ? columnName(field) : undefined;
    const mask = masks?.[i];
    if (mask === 'plain' || (name && masker.isMaskedColumn(name))) {
      const masked = masker.maskColumnValue(value.toString('utf8'), kinds.column);
      out[i] = masked.value === null ? null : Buffer.from(masked.value, 'utf8');
      reasons.add(name ? `column:${name.table}.${name.column}` : 'column');
      continue;
    }
    if (mask === 'whole') {
      const masked = masker.maskWhole(kinds.column);
      out[i] = masked.value === null ? null : Buffer.from(masked.value, 'utf8');
      reasons.add('derived');
      continue;
    }
    const masked = maskValueContent(value, kinds.content, masker);
    if (!masked) continue;
    out[i] = masked.value;
    for (const reason of masked.reasons) reasons.add(reason);
  }
  return { values: out, changed: reasons.size > 0, reasons };
}

/** Content detectors over one value; undefined when they find nothing. */
function maskValueContent(
  value: Buffer,
  kind: ValueKind | 'scan',
  masker: Masker,
): { value: Buffer | null; reasons: readonly string[] } | undefined {
  if (kind === 'scan') {
    // Bytes of a binary structure: strings inside are contiguous UTF-8, which latin1 keeps byte for byte.
    const found = masker.maskContent(value.toString('latin1'), 'text');
    return found.reasons.length === 0 ? undefined : { value: null, reasons: found.reasons };
  }
  if (kind === 'opaque') return undefined;
  const masked = masker.maskContent(value.toString('utf8'), kind);
  if (masked.reasons.length === 0) return undefined;
  return { value: masked.value === null ? null : Buffer.from(masked.value, 'utf8'), reasons: masked.reasons };
}

/**
 * One row of COPY TO output (text or csv): each field masked as its column's lineage says
 * (`masks`; all `clear` when the session does not trace lineage), content detectors on the rest.
 * A row that cannot be taken apart is masked whole, field by field, unless nothing in it is masked.
 */
export function maskCopyRow(
  row: Buffer,
  format: CopyFormat,
  masks: readonly ColumnMask[],
  masker: Masker,
  /** False when the row's bytes cannot be taken apart as UTF-8 (see embedsAscii): masked whole. */
  readable = true,
): { row: Buffer; reasons: readonly string[] } {
  const text = row.toString('utf8');
  const fields = readable ? splitCopyRow(text, format) : undefined;
  const anyMasked = masks.some((m) => m !== 'clear');
  const reasons = new Set<string>();
  if (!fields) {
    if (!anyMasked) {
      const masked = masker.maskContent(text, 'text');
      if (masked.reasons.length === 0) return { row, reasons: [] };
      return { row: Buffer.from(masked.value ?? '', 'utf8'), reasons: masked.reasons };
    }
    const empty = masks.map((): CopyField => null);
    return { row: Buffer.from(joinCopyRow(empty, format, text), 'utf8'), reasons: ['derived'] };
  }
  const perField =
    fields.length === masks.length
      ? masks
      : new Array<ColumnMask>(fields.length).fill(anyMasked ? 'whole' : 'clear');
  const out = fields.map((field, i): CopyField => {
    if (field === null) return null;
    const mask = perField[i];
    if (mask === 'plain') {
      reasons.add('column');
      return masker.maskColumnValue(field, 'text').value;
    }
    if (mask === 'whole') {
      reasons.add('derived');
      return masker.maskWhole('text').value;
    }
    const masked = masker.maskContent(field, 'text');
    for (const reason of masked.reasons) reasons.add(reason);
    return masked.value;
  });
  if (reasons.size === 0) return { row, reasons: [] };
  return { row: Buffer.from(joinCopyRow(out, format, text), 'utf8'), reasons: [...reasons] };
}
