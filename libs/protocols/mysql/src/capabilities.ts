/** Capability flags of the MySQL protocol (both directions use the same bits). */
export const Capability = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  IGNORE_SIGPIPE: 4096,
  TRANSACTIONS: 8192,
  RESERVED: 16384,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  CAN_HANDLE_EXPIRED_PASSWORDS: 1 << 22,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
  OPTIONAL_RESULTSET_METADATA: 1 << 25,
  ZSTD_COMPRESSION: 1 << 26,
  QUERY_ATTRIBUTES: 1 << 27,
  MULTI_FACTOR_AUTH: 1 << 28,
  CAPABILITY_EXTENSION: 1 << 29,
  SSL_VERIFY_SERVER_CERT: 1 << 30,
  REMEMBER_OPTIONS: 2 ** 31,
} as const;

/**
 * What the proxy lets a session use, on both legs: the client and the target must agree on every
 * bit that changes the shape of packets, because result packets are relayed between them.
 * Left out, so they are negotiated off: compression (zlib, zstd), TLS (the client leg is loopback or
 * the tunnel; the target leg negotiates its own), LOCAL INFILE (governed by policy, off by
 * default), query attributes, optional result metadata, EOF deprecation (one result shape to read),
 * multi-factor authentication and the capability extension. NO_SCHEMA too: under it the server
 * ignores the database of `db.table` (reading the current database's table), which the classifier
 * and lineage, reading the text as written, would not know.
 */
export const PROXY_CAPABILITIES =
  Capability.LONG_PASSWORD |
  Capability.FOUND_ROWS |
  Capability.LONG_FLAG |
  Capability.CONNECT_WITH_DB |
  Capability.ODBC |
  Capability.IGNORE_SPACE |
  Capability.PROTOCOL_41 |
  Capability.INTERACTIVE |
  Capability.IGNORE_SIGPIPE |
  Capability.TRANSACTIONS |
  Capability.RESERVED |
  Capability.SECURE_CONNECTION |
  Capability.MULTI_STATEMENTS |
  Capability.MULTI_RESULTS |
  Capability.PS_MULTI_RESULTS |
  Capability.PLUGIN_AUTH |
  Capability.CONNECT_ATTRS |
  Capability.PLUGIN_AUTH_LENENC_CLIENT_DATA |
  Capability.CAN_HANDLE_EXPIRED_PASSWORDS |
  Capability.SESSION_TRACK;

/**
 * MariaDB's extended capabilities: the 32 bits above the standard ones (MARIADB_CLIENT_* >> 32),
 * sent in the greeting's and the handshake response's last four filler bytes when the sender clears
 * CLIENT_MYSQL (LONG_PASSWORD).
 */
export const MariadbCapability = {
  PROGRESS: 1,
  COM_MULTI: 2,
  STMT_BULK_OPERATIONS: 4,
  /** Column definitions carry the data type's name and format (`format=json`, `uuid`, ...). */
  EXTENDED_METADATA: 8,
  CACHE_METADATA: 16,
} as const;

/**
 * The MariaDB capabilities the proxy relays when the client and the target both have them:
 * extended metadata only (its column definition layout is parsed, so masking reads it too). Left
 * out: the target's progress reports (packets outside the reply's shape; the engine offers the
 * client progress reports of its own, for held commands), COM_MULTI and bulk execution (commands
 * the session does not decide one by one) and metadata caching (result sets without column
 * definitions, which masking needs).
 */
export const PROXY_MARIADB_CAPABILITIES = MariadbCapability.EXTENDED_METADATA;

/** Intersection of two 32-bit flag sets (JavaScript's & is signed: keep the result unsigned). */
export function commonCapabilities(a: number, b: number): number {
  return (a & b) >>> 0;
}

export function hasCapability(flags: number, flag: number): boolean {
  return (flags & flag) !== 0;
}

/** Server status flags that matter to the relay. */
export const ServerStatus = {
  IN_TRANS: 1,
  AUTOCOMMIT: 2,
  MORE_RESULTS_EXISTS: 8,
  CURSOR_EXISTS: 0x40,
  LAST_ROW_SENT: 0x80,
} as const;

/** Command bytes (first byte of a command packet). */
export const Command = {
  SLEEP: 0x00,
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  CREATE_DB: 0x05,
  DROP_DB: 0x06,
  REFRESH: 0x07,
  SHUTDOWN: 0x08,
  STATISTICS: 0x09,
  PROCESS_INFO: 0x0a,
  CONNECT: 0x0b,
  PROCESS_KILL: 0x0c,
  DEBUG: 0x0d,
  PING: 0x0e,
  TIME: 0x0f,
  DELAYED_INSERT: 0x10,
  CHANGE_USER: 0x11,
  BINLOG_DUMP: 0x12,
  TABLE_DUMP: 0x13,
  CONNECT_OUT: 0x14,
  REGISTER_SLAVE: 0x15,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  DAEMON: 0x1d,
  BINLOG_DUMP_GTID: 0x1e,
  RESET_CONNECTION: 0x1f,
  STMT_BULK_EXECUTE: 0xfa,
} as const;

export const COMMAND_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(Command).map(([name, code]) => [code, `COM_${name}`]),
);
