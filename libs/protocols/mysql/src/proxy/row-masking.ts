import type { ColumnMask, Masker, ValueKind } from '@tollgate/masking';
import { BINARY_CHARSET, ColumnType, type ColumnDefinition } from '../column-definition';
import type { RowValue } from '../rows';

const TEXT_TYPES = new Set<number>([
  ColumnType.VARCHAR,
  ColumnType.VAR_STRING,
  ColumnType.STRING,
  ColumnType.TINY_BLOB,
  ColumnType.MEDIUM_BLOB,
  ColumnType.LONG_BLOB,
  ColumnType.BLOB,
  ColumnType.ENUM,
  ColumnType.SET,
]);
const NUMBER_TYPES = new Set<number>([
  ColumnType.TINY,
  ColumnType.SHORT,
  ColumnType.LONG,
  ColumnType.INT24,
  ColumnType.LONGLONG,
  ColumnType.YEAR,
  ColumnType.DECIMAL,
  ColumnType.NEWDECIMAL,
  ColumnType.FLOAT,
  ColumnType.DOUBLE,
]);
const BINARY_FIXED = new Set<number>([
  ColumnType.TINY,
  ColumnType.SHORT,
  ColumnType.LONG,
  ColumnType.INT24,
  ColumnType.LONGLONG,
  ColumnType.YEAR,
  ColumnType.FLOAT,
  ColumnType.DOUBLE,
]);

/**
 * How a value of this column may be rewritten and still read as its type: text columns take any
 * string, numbers become 0 (in the binary protocol: zero bytes of the same width), everything else
 * (dates, JSON, binary strings, geometry) becomes NULL under a column rule and is left to content
 * detectors only when it is text.
 */
function valueKinds(column: ColumnDefinition): { content: ValueKind; column: ValueKind } {
  if (TEXT_TYPES.has(column.type) && column.characterSet !== BINARY_CHARSET) {
    // MariaDB's extended metadata may say the text is JSON, an inet6, a uuid...: clients parse it as
    // such (mysql2 parses JSON), so a replaced value must be NULL, not asterisks.
    if (column.extended?.formatName || column.extended?.dataTypeName)
      return { content: 'text', column: 'opaque' };
    return { content: 'text', column: 'text' };
  }
  if (column.type === ColumnType.JSON) return { content: 'text', column: 'opaque' };
  if (NUMBER_TYPES.has(column.type)) return { content: 'opaque', column: 'number' };
  return { content: 'opaque', column: 'opaque' };
}

export interface MaskedRow {
  readonly values: RowValue[];
  readonly reasons: ReadonlySet<string>;
}

/**
 * Applies lineage (`masks`, when the session traces it: a plain masked column keeps its
 * format-preserving mask, a value made from one is masked whole), column rules (on the column's own
 * table, whatever the query called it) and content detectors to one row. `binary` rows carry
 * numbers in their fixed-width encoding.
 */
export function maskRow(
  values: readonly RowValue[],
  columns: readonly ColumnDefinition[],
  masker: Masker,
  binary: boolean,
  masks?: readonly ColumnMask[],
): MaskedRow {
  const out = [...values];
  const reasons = new Set<string>();
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const column = columns[i];
    if (value === null || value === undefined || !column) continue;
    const kinds = valueKinds(column);
    const table = column.orgTable || undefined;
    const name = column.orgName || column.name;
    const mask = masks?.[i];
    if (
      mask === 'plain' ||
      (table &&
        masker.isMaskedColumn({ ...(column.schema ? { schema: column.schema } : {}), table, column: name }))
    ) {
      out[i] = maskedColumnValue(value, column, kinds.column, masker, binary);
      reasons.add(table ? `column:${table}.${name}` : 'column');
      continue;
    }
    if (mask === 'whole') {
      out[i] = wholeValue(column, kinds.column, masker, binary);
      reasons.add('derived');
      continue;
    }
    if (kinds.content === 'opaque') continue;
    const masked = masker.maskContent(value.toString('utf8'), kinds.content);
    if (masked.reasons.length === 0) continue;
    out[i] = masked.value === null ? null : Buffer.from(masked.value, 'utf8');
    for (const reason of masked.reasons) reasons.add(reason);
  }
  return { values: out, reasons };
}

function maskedColumnValue(
  value: Buffer,
  column: ColumnDefinition,
  kind: ValueKind,
  masker: Masker,
  binary: boolean,
): RowValue {
  if (binary && BINARY_FIXED.has(column.type)) return Buffer.alloc(value.length);
  const masked = masker.maskColumnValue(value.toString('utf8'), kind);
  return masked.value === null ? null : Buffer.from(masked.value, 'utf8');
}

/** A value made from a masked column: nothing of it kept, in a form its type still reads. */
function wholeValue(column: ColumnDefinition, kind: ValueKind, masker: Masker, binary: boolean): RowValue {
  if (binary && BINARY_FIXED.has(column.type)) return Buffer.alloc(fixedWidthOf(column.type));
  const masked = masker.maskWhole(kind);
  return masked.value === null ? null : Buffer.from(masked.value, 'utf8');
}

function fixedWidthOf(type: number): number {
  if (type === ColumnType.TINY) return 1;
  if (type === ColumnType.SHORT || type === ColumnType.YEAR) return 2;
  if (type === ColumnType.LONGLONG || type === ColumnType.DOUBLE) return 8;
  return 4;
}
