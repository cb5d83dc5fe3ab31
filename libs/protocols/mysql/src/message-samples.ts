import { Capability, PROXY_CAPABILITIES } from './capabilities';
import { serializeHandshakeResponse, serializeServerGreeting } from './handshake';
import { framePacket } from './packet-reader';
import { PayloadWriter } from './payload';
import { eofPacket, errPacket, okPacket } from './response-packets';
import { serializeBinaryRow, serializeTextRow } from './rows';
import { ColumnType, type ColumnDefinition } from './column-definition';

/** For tests: captured-shape packets of both directions. */
export const greetingSample = serializeServerGreeting({
  serverVersion: '5.5.5-10.11.19-MariaDB-0+deb12u1',
  connectionId: 42,
  authData: Buffer.from('abcdefghijklmnopqrst'),
  capabilities: (PROXY_CAPABILITIES | Capability.SSL) >>> 0,
  mariadbCapabilities: 0,
  characterSet: 45,
  statusFlags: 2,
  authPlugin: 'mysql_native_password',
});

export const handshakeResponseSample = serializeHandshakeResponse({
  capabilities: PROXY_CAPABILITIES,
  maxPacketSize: 1 << 24,
  characterSet: 45,
  mariadbCapabilities: 0,
  username: 'alice',
  authResponse: Buffer.alloc(20, 7),
  database: 'app',
  authPlugin: 'mysql_native_password',
  attributes: new Map([['_client_name', 'libmariadb']]),
});

export const sampleColumns: ColumnDefinition[] = [
  {
    schema: 'app',
    table: 'c',
    orgTable: 'customers',
    name: 'ssn',
    orgName: 'ssn',
    characterSet: 45,
    columnLength: 80,
    type: ColumnType.VAR_STRING,
    flags: 0,
    decimals: 0,
  },
  {
    schema: 'app',
    table: 'c',
    orgTable: 'customers',
    name: 'age',
    orgName: 'age',
    characterSet: 63,
    columnLength: 11,
    type: ColumnType.LONG,
    flags: 0,
    decimals: 0,
  },
  {
    schema: 'app',
    table: 'c',
    orgTable: 'customers',
    name: 'born',
    orgName: 'born',
    characterSet: 63,
    columnLength: 10,
    type: ColumnType.DATE,
    flags: 0,
    decimals: 0,
  },
];

/**
 * A column definition; with `extended`, in MariaDB's extended metadata layout (the chunks after the
 * original name: key 0 the data type's name, key 1 the format's).
 */
export function columnDefinitionPayload(column: ColumnDefinition): Buffer {
  const w = new PayloadWriter()
    .lenencString('def')
    .lenencString(column.schema)
    .lenencString(column.table)
    .lenencString(column.orgTable)
    .lenencString(column.name)
    .lenencString(column.orgName);
  if (column.extended) {
    const chunks = new PayloadWriter();
    if (column.extended.dataTypeName !== undefined) chunks.u8(0).lenencString(column.extended.dataTypeName);
    if (column.extended.formatName !== undefined) chunks.u8(1).lenencString(column.extended.formatName);
    w.lenencBytes(chunks.build());
  }
  return w
    .lenenc(0x0c)
    .u16(column.characterSet)
    .u32(column.columnLength)
    .u8(column.type)
    .u16(column.flags)
    .u8(column.decimals)
    .zeros(2)
    .build();
}

/** Columns as a MariaDB server describes them to a client that negotiated extended metadata. */
export const extendedColumns: ColumnDefinition[] = [
  {
    ...sampleColumns[0]!,
    name: 'doc',
    orgName: 'doc',
    type: ColumnType.BLOB,
    extended: { formatName: 'json' },
  },
  {
    ...sampleColumns[0]!,
    name: 'ip',
    orgName: 'ip',
    type: ColumnType.STRING,
    extended: { dataTypeName: 'inet6' },
  },
  { ...sampleColumns[1]!, extended: {} },
];

/** A COM_QUERY exchange's packets, server side: header, columns, EOF, rows, EOF, OK, ERR. */
export const serverPayloads: Buffer[] = [
  greetingSample,
  Buffer.from([sampleColumns.length]),
  ...sampleColumns.map(columnDefinitionPayload),
  eofPacket(2),
  serializeTextRow([Buffer.from('123-45-6789'), Buffer.from('36'), null]),
  serializeBinaryRow(
    [Buffer.from('123-45-6789'), Buffer.from([36, 0, 0, 0]), Buffer.from([4, 0xe8, 7, 1, 1].slice(1))],
    sampleColumns,
  ),
  eofPacket(2),
  okPacket({ affectedRows: 3, info: 'Rows matched: 3' }),
  errPacket(1064, '42000', 'You have an error in your SQL syntax'),
  ...extendedColumns.map(columnDefinitionPayload),
];

export const clientPayloads: Buffer[] = [
  handshakeResponseSample,
  Buffer.concat([Buffer.from([0x03]), Buffer.from('SELECT 1')]),
  Buffer.from([0x0e]),
  Buffer.from([0x01]),
];

/** Frames payloads as consecutive packets (sequence ids from 0). */
export function framed(payloads: readonly Buffer[]): Buffer {
  return Buffer.concat(payloads.map((payload, i) => framePacket(payload, i).bytes));
}
