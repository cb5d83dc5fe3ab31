export { makeDataDir, makeTempDir, PGLITE_TEMPLATE_ENV, seedEmbeddedStore } from './temp-dir';
export { cliBin, repoRoot } from './repo-paths';
export { spawnCli, spawnGateway, type CliProcess } from './cli-process';
export { createTestDatabase, MACHINE_POSTGRES } from './postgres-database';
export {
  createMariadbDatabase,
  heldUpdateOnMariadbTerminal,
  mariadbRoot,
  MACHINE_MARIADB,
  type MariadbTestDatabase,
} from './mariadb-database';
export {
  bootstrapAdminToken,
  postTokenEndpoint,
  serviceAccountToken,
  TEST_BOOTSTRAP_ADMIN_SECRET,
  type GatewayTokenResponse,
} from './gateway-tokens';
export { completeBrowserLogin, loginDevUser } from './browser-login';
export {
  attachGateway,
  createAgent,
  createMachinePostgresConnection,
  createTcpConnection,
  dial,
  readAll,
  registerFakeCluster,
  spawnAgent,
  spawnConnect,
  startEchoStack,
  startTunnelGateway,
  type AuditQuery,
  type AuditRecordView,
  type EchoStack,
  type TunnelGateway,
} from './tunnel-stack';
export { echoTarget, replyAfterEofTarget, startTcpTarget, unusedPort, type TcpTarget } from './tcp-targets';
export { startPostgresCluster, type PostgresCluster } from './postgres-cluster';
export { CHROMIUM_PATH, launchChromium } from './browser';
export { runPsql, type PsqlRun } from './psql';
export { makeCertificate, type TestCertificate } from './tls-certificates';
export { shows } from './locator-expect';
export { printOutputOnFailure } from './failure-output';
export { startSshd, type SshdServer } from './sshd-server';
export { runSshClient, sshClientOptions, type SshClientRun } from './openssh-client';
export { openTerminal, startTmux, type Terminal, type TmuxServer } from './tmux';
export { frameStreamPair } from './frame-stream-pair';
export { startFakeKubeApiServer, type FakeKubeApiServer } from './fake-kube-apiserver';
export { curl } from './curl';
