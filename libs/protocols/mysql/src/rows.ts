import { ColumnType, type ColumnDefinition } from './column-definition';
import { PayloadReader, PayloadWriter } from './payload';
import { MysqlProtocolError } from './protocol-error';

/** A value in a result row, as its wire bytes (text: the string; binary: the type's encoding). */
export type RowValue = Buffer | null;

/** ProtocolText::ResultsetRow: one length-encoded string (or 0xFB for NULL) per column. */
export function parseTextRow(payload: Buffer, columns: number): RowValue[] {
  const r = new PayloadReader(payload, 'a text result row');
  const values: RowValue[] = [];
  for (let i = 0; i < columns; i++) {
    const length = r.lenencOrNull();
    values.push(length === null ? null : r.bytes(length));
  }
  if (r.remaining !== 0)
    throw new MysqlProtocolError('malformed', 'a text result row has bytes after its columns');
  return values;
}

export function serializeTextRow(values: readonly RowValue[]): Buffer {
  const w = new PayloadWriter();
  for (const value of values) {
    if (value === null) w.u8(0xfb);
    else w.lenencBytes(value);
  }
  return w.build();
}

/** Bytes a fixed-width binary value takes; undefined for length-prefixed types. */
function fixedWidth(type: number): number | undefined {
  switch (type) {
    case ColumnType.TINY:
      return 1;
    case ColumnType.SHORT:
    case ColumnType.YEAR:
      return 2;
    case ColumnType.LONG:
    case ColumnType.INT24:
    case ColumnType.FLOAT:
      return 4;
    case ColumnType.LONGLONG:
    case ColumnType.DOUBLE:
      return 8;
    case ColumnType.NULL:
      return 0;
    default:
      return undefined;
  }
}

/** Date and time values: one length byte, then that many bytes. */
const SHORT_LENGTH_TYPES = new Set<number>([
  ColumnType.DATE,
  ColumnType.TIME,
  ColumnType.DATETIME,
  ColumnType.TIMESTAMP,
  ColumnType.NEWDATE,
  ColumnType.TIMESTAMP2,
  ColumnType.DATETIME2,
  ColumnType.TIME2,
]);

/**
 * ProtocolBinary::ResultsetRow: a 0x00 header, a NULL bitmap (offset 2), then each non-NULL value
 * encoded by its column's type. Values come back as their wire bytes (without length prefix).
 */
export function parseBinaryRow(payload: Buffer, columns: readonly ColumnDefinition[]): RowValue[] {
  const r = new PayloadReader(payload, 'a binary result row');
  if (r.u8() !== 0x00) throw new MysqlProtocolError('malformed', 'a binary result row must start with 0x00');
  const bitmap = r.bytes(Math.floor((columns.length + 7 + 2) / 8));
  const values: RowValue[] = [];
  columns.forEach((column, i) => {
    const bit = i + 2;
    if (((bitmap[bit >> 3] as number) & (1 << (bit & 7))) !== 0) {
      values.push(null);
      return;
    }
    const width = fixedWidth(column.type);
    if (width !== undefined) values.push(r.bytes(width));
    else if (SHORT_LENGTH_TYPES.has(column.type)) values.push(r.bytes(r.u8()));
    else values.push(r.lenencBytes());
  });
  if (r.remaining !== 0)
    throw new MysqlProtocolError('malformed', 'a binary result row has bytes after its columns');
  return values;
}

export function serializeBinaryRow(
  values: readonly RowValue[],
  columns: readonly ColumnDefinition[],
): Buffer {
  const bitmap = Buffer.alloc(Math.floor((columns.length + 7 + 2) / 8));
  const w = new PayloadWriter();
  columns.forEach((column, i) => {
    const value = values[i];
    if (value === null || value === undefined) {
      const bit = i + 2;
      bitmap[bit >> 3] = (bitmap[bit >> 3] as number) | (1 << (bit & 7));
      return;
    }
    if (fixedWidth(column.type) !== undefined) w.raw(value);
    else if (SHORT_LENGTH_TYPES.has(column.type)) w.u8(value.length).raw(value);
    else w.lenencBytes(value);
  });
  return Buffer.concat([Buffer.from([0]), bitmap, w.build()]);
}
