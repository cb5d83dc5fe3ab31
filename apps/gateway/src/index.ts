export { startGateway, type RunningGateway, type StartGatewayOptions } from './start-gateway';
export { runGatewayProcess } from './run-gateway-process';
export { GATEWAY_VERSION } from './version';
