export { runAgentProcess, startAgent, type RunningAgent } from './run-agent';
export { TunnelClient, type AgentState } from './tunnel-client';
export { AGENT_VERSION } from './version';
export { gateCommand, type GateInput, type GateResult } from './command-gate';
export {
  AuditRefusedError,
  SessionAuditClient,
  type ApprovalAsk,
  type ApprovalResult,
  type CommandRecord,
} from './session-audit-client';
