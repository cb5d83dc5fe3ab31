export type {
  AuditActor,
  AuditConnectionRef,
  AuditEvent,
  AuditEventType,
  AuthorizationEvent,
  CommandDecisionKind,
  CommandEvent,
  CommandResultEvent,
  PolicyChangeEvent,
  ReviewDecisionEvent,
  ReviewRequestEvent,
  SessionCancelEvent,
  SessionCloseEvent,
  SessionCloseReason,
  SessionOpenEvent,
  SessionRecordingEvent,
} from './audit-event.types';
export { canonicalJson, CanonicalJsonError, type JsonValue } from './canonical-json';
export {
  appendToChain,
  genesisHead,
  GENESIS_HASH,
  linkHash,
  linkHashOfCanonical,
  verifyChain,
  type ChainedRecord,
  type ChainFault,
  type ChainHead,
  type ChainVerification,
  type VerifyOptions,
} from './hash-chain';
export {
  AsciicastWriter,
  asciicastOutput,
  parseAsciicast,
  parseAsciicastEvent,
  type AsciicastCode,
  type AsciicastEvent,
  type AsciicastHeader,
  type AsciicastParseResult,
} from './asciicast';
export {
  TerminalRecorder,
  type RecordingChunkOut,
  type TerminalRecorderOptions,
  type TerminalRecording,
} from './terminal-recorder';
export { recordSummary, SUMMARY_COMMAND_CHARS, type SummarizedRecord } from './record-summary';
