export { runAgentProcess, startAgent, type RunningAgent } from './run-agent';
export { TunnelClient, type AgentState } from './tunnel-client';
export { AGENT_VERSION } from './version';
