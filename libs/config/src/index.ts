export { ConfigError } from './config.error';
export { processEnvironment, readSettings } from './config-source';
export type {
  Environment,
  SettingSpec,
  SettingSpecs,
  SettingValues,
  SettingOverrides,
} from './config-source';
export { defaultDataDir } from './setting-schemas';
export { gatewaySettings, loadGatewayConfig } from './gateway.config';
export type { GatewayConfig, GatewayConfigOverrides } from './gateway.config';
export { cliSettings, loadCliConfig } from './cli.config';
export type { CliConfig, CliConfigOverrides } from './cli.config';
export { agentSettings, loadAgentConfig, parseJournalLag } from './agent.config';
export type { AgentConfig, AgentConfigOverrides, JournalLag } from './agent.config';
export { connectSettings, loadConnectConfig } from './connect.config';
export type { ConnectConfig, ConnectConfigOverrides } from './connect.config';
export { isLoopbackHost, type TunnelEndpoint } from './tunnel-endpoint';
export { parseCertificateFingerprint, type CertificateFingerprint } from './certificate-fingerprint';
export { resolveSecretReference, SecretReferenceError } from './secret-reference';
export { decodeStoreKey } from './store-key';
