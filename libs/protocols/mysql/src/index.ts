export { MysqlProtocolError, type MysqlProtocolErrorCode } from './protocol-error';
export { PacketReader, framePacket, MAX_PACKET_PAYLOAD, type MysqlPacket } from './packet-reader';
export { PayloadReader, PayloadWriter } from './payload';
export {
  Capability,
  Command,
  MariadbCapability,
  PROXY_CAPABILITIES,
  PROXY_MARIADB_CAPABILITIES,
  ServerStatus,
} from './capabilities';
export {
  parseServerGreeting,
  serializeServerGreeting,
  parseHandshakeResponse,
  serializeHandshakeResponse,
  serializeSslRequest,
  type ServerGreeting,
  type HandshakeResponse,
} from './handshake';
export {
  parseOkPacket,
  parseErrPacket,
  parseEofPacket,
  okPacket,
  errPacket,
  eofPacket,
  isOkPacket,
  isErrPacket,
  isEofPacket,
  type OkPacket,
  type ErrPacket,
  type EofPacket,
} from './response-packets';
export {
  parseColumnDefinition,
  ColumnType,
  type ColumnDefinition,
  type ColumnDefinitionLayout,
  type ExtendedTypeInfo,
} from './column-definition';
export { parseTextRow, serializeTextRow, parseBinaryRow, serializeBinaryRow, type RowValue } from './rows';
export { classifyMysql, MysqlReading } from './sql-classifier';
export type { MysqlStatementFacts } from './sql/statement-facts';
export type {
  CommandGate,
  GateVerdict,
  SqlCommand,
  SqlClassification,
  StatementOutcome,
} from './proxy/command-gate';
export { runMysqlSession, type MysqlSessionOptions, type MysqlSessionEnd } from './proxy/mysql-session';
export { connectTarget, type TargetConnection } from './proxy/target-connection';
export { TargetConnectError } from './proxy/target-connect.error';
export type { MysqlTargetSettings } from './proxy/target-settings';
export { killQuery } from './proxy/kill-query';
export { MysqlEngine, type MysqlEngineOptions } from './engine/mysql.engine';
export { runMysqlQuery, MysqlQueryError, type MysqlStatementResult } from './client/mysql-query.client';
export { mysqlRefuser, REFUSAL_ERRORS } from './refusal/mysql.refuser';
export {
  acceptMysqlLogin,
  greetingLength,
  refuseMysqlLogin,
  LOGIN_ERRORS,
  LISTENER_SERVER_VERSION,
  type MysqlLogin,
  type MysqlLoginOptions,
  type MysqlLoginOutcome,
} from './listener/mysql-login';
export { serveMysqlWithoutConnection } from './listener/mysql-unbound';
export { readKillStatement, type KillStatement } from './proxy/connection-ids';
