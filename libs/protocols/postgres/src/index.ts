export { PostgresProtocolError, type PostgresProtocolErrorCode } from './protocol-error';
export type { BackendMessage, BackendMessageName, FieldDescription, NoticeFields } from './backend-messages';
export type { FrontendMessage, FrontendMessageName, StartupPacket } from './frontend-messages';
export {
  BackendMessageParser,
  parseBackendFrame,
  type BackendMessageCallback,
} from './backend-message.parser';
export {
  FrontendMessageParser,
  parseFrontendFrame,
  parseStartupPacket,
  type FrontendMessageCallback,
} from './frontend-message.parser';
export {
  errorResponse,
  fatalErrorResponse,
  noticeResponse,
  serializeBackendMessage,
  serializeDataRow,
} from './backend-message.serializer';
export { serializeFrontendMessage, serializeStartupPacket } from './frontend-message.serializer';
export {
  parsePasswordMessage,
  parseSaslInitialResponse,
  passwordMessageBody,
  saslInitialResponseBody,
  type SaslInitialResponse,
} from './authentication-response';
export { DEFAULT_MAX_MESSAGE_LENGTH } from './frame-reader';
export { PROTOCOL_VERSION_3 } from './message-codes';
export {
  classifySql,
  clearClassificationCache,
  loadSqlClassifier,
  type SqlClassification,
  type SqlStatementFacts,
} from './sql-classifier';
export {
  runPostgresSession,
  denialStatement,
  type PostgresSessionOptions,
  type PostgresSessionEnd,
} from './proxy/postgres-session';
export type { CommandGate, GateVerdict, SqlCommand, StatementOutcome } from './proxy/command-gate';
export { CancelRegistry } from './proxy/cancel-registry';
export type { PostgresTargetSettings } from './proxy/target-settings';
export { TargetConnectError } from './proxy/target-connect.error';
export { frameStreamDuplex } from '@tollgate/protocol-tcp';
export { PostgresEngine, type PostgresEngineOptions } from './engine/postgres.engine';
export {
  postgresRefuser,
  PostgresSessionWatch,
  recognizesPostgres,
  refusalResponse,
  REFUSAL_SQLSTATES,
} from './refusal/postgres.refuser';
export {
  runSimpleQuery,
  checkPostgresLogin,
  QueryError,
  type SimpleQueryOptions,
  type QueryRun,
  type StatementResult,
} from './client/simple-query.client';
export { formatResults, type ResultFormat } from './client/result-format';
export {
  acceptPostgresLogin,
  refusePostgresLogin,
  LOGIN_SQLSTATE,
  type PostgresLogin,
  type PostgresLoginOptions,
  type PostgresLoginOutcome,
} from './listener/postgres-login';
export { analyzeLineage } from './sql/lineage/statement-lineage';
export { clearParseCache } from './sql/parse-tree';
export { analysisKey, clearShapeTemplates } from './sql/statement-shape';
export type {
  LineageAnalysis,
  LineageCatalog,
  LineageSource,
  OutputLineage,
  RelationFacts,
  StatementLineage,
} from './sql/lineage/lineage.types';
export { SessionLineage } from './proxy/session-lineage';
export { CatalogConnection } from './proxy/catalog-connection';
