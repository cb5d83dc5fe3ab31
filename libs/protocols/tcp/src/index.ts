export { dataFrame, halfCloseFrame, MAX_FRAME_DATA_BYTES, resetFrame, type FrameCodec } from './frame-codec';
export { relaySocket, type FrameStream, type RelayOutcome } from './socket-relay';
export {
  closeRefusal,
  openFailureRefusal,
  type ProtocolRefuser,
  type Refusal,
  type RefusalDialogue,
  type RefusalKind,
  type SessionWatch,
} from './session-refusal';
export { refuseSocket, type RefusedClient } from './socket-refusal';
export { resetSocket } from './socket-reset';
export {
  attachReadSink,
  claimReadHeadroom,
  connectWithFrameReads,
  frameDataBuffer,
  frameReadsReadable,
  SOCKET_READ_BYTES,
  type ReadSink,
} from './socket-reads';
export type { EngineOpenOptions, EngineSession, RelayEngine } from './relay-engine';
export type { CommandPort, CommandResultReport, CommandVerdict, RecordingStart } from './command-port';
export { TargetUnreachableError } from './target-unreachable.error';
export { dialTcpTarget } from './tcp-target';
export { TcpEngine } from './tcp.engine';
export { frameStreamDuplex } from './frame-stream.duplex';
export { endedByPeer } from './ended-by-peer';
export { targetCa, targetSecret, targetTlsMode, type TargetTlsMode } from './target-settings';
export type { ListenerLogin, ListenerLoginOptions, ListenerLoginOutcome } from './listener-login';
export { gateClientData, GATE_HOLD_MS, type ClientGate, type GateVerdict } from './client-gate';
