import { PayloadReader } from './payload';

/** Column types of the binary protocol (enum_field_types). */
export const ColumnType = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

/** The `binary` collation: the column holds bytes, not text. */
export const BINARY_CHARSET = 63;

/** Protocol::ColumnDefinition41: where a result column comes from and how its values are encoded. */
export interface ColumnDefinition {
  readonly schema: string;
  readonly table: string;
  /** The table as named in the schema (not the query's alias); empty for computed columns. */
  readonly orgTable: string;
  readonly name: string;
  readonly orgName: string;
  readonly characterSet: number;
  readonly columnLength: number;
  readonly type: number;
  readonly flags: number;
  readonly decimals: number;
  /**
   * MariaDB's extended metadata (when the session negotiated MARIADB_CLIENT_EXTENDED_METADATA): the
   * data type's name (`inet6`, `uuid`, a geometry's `point`) and format (`json`), when the server
   * sent them.
   */
  readonly extended?: ExtendedTypeInfo;
}

export interface ExtendedTypeInfo {
  readonly dataTypeName?: string;
  readonly formatName?: string;
}

/** The keys of MariaDB's extended metadata chunks (enum mariadb_field_attr_t). */
const DATA_TYPE_NAME = 0;
const FORMAT_NAME = 1;

export interface ColumnDefinitionLayout {
  /** The session negotiated MARIADB_CLIENT_EXTENDED_METADATA: a length-encoded string of
   * (key, length-encoded value) chunks follows the original column name. */
  readonly extendedMetadata?: boolean;
}

export function parseColumnDefinition(
  payload: Buffer,
  layout: ColumnDefinitionLayout = {},
): ColumnDefinition {
  const r = new PayloadReader(payload, 'a column definition');
  r.lenencBytes(); // catalog, always "def"
  const schema = r.lenencString();
  const table = r.lenencString();
  const orgTable = r.lenencString();
  const name = r.lenencString();
  const orgName = r.lenencString();
  const extended = layout.extendedMetadata ? parseExtendedTypeInfo(r.lenencBytes()) : undefined;
  r.lenenc(); // length of the fixed fields (0x0c)
  const characterSet = r.u16();
  const columnLength = r.u32();
  const type = r.u8();
  const flags = r.u16();
  const decimals = r.u8();
  return {
    schema,
    table,
    orgTable,
    name,
    orgName,
    characterSet,
    columnLength,
    type,
    flags,
    decimals,
    ...(extended ? { extended } : {}),
  };
}

/** The chunks of MariaDB's extended metadata; unknown keys are skipped. */
function parseExtendedTypeInfo(bytes: Buffer): ExtendedTypeInfo {
  const r = new PayloadReader(bytes, 'the extended metadata of a column definition');
  let dataTypeName: string | undefined;
  let formatName: string | undefined;
  while (r.remaining > 0) {
    const key = r.lenenc();
    const value = r.lenencString();
    if (key === DATA_TYPE_NAME) dataTypeName = value;
    else if (key === FORMAT_NAME) formatName = value;
  }
  return {
    ...(dataTypeName !== undefined ? { dataTypeName } : {}),
    ...(formatName !== undefined ? { formatName } : {}),
  };
}
