export { startGateway, type RunningGateway, type StartGatewayOptions } from './start-gateway';
export { runGatewayProcess } from './run-gateway-process';
export { GATEWAY_VERSION } from './version';
export { localAgentToken, LOCAL_AGENT_NAME } from './modules/agents/local-agent-token';
export {
  recoverAdministrator,
  RecoveryRefusedError,
  type RecoveredAdministrator,
} from './recover-administrator';
export type { ConnectionView } from './modules/connections/connection.presenter';
