import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startAgent } from '@tollgate/agent';
import { loadAgentConfig, loadGatewayConfig, type GatewayConfigOverrides } from '@tollgate/config';
import { LOCAL_AGENT_NAME, localAgentToken, type RunningGateway } from '@tollgate/gateway';

/**
 * The quickstart's agent, in the gateway's process: registered as "local" on first start, its token
 * kept in the data directory, dialing the gateway's own gRPC endpoint over loopback.
 */
export function startLocalAgent(gateway: RunningGateway, overrides: GatewayConfigOverrides): void {
  const log = gateway.logger.child({ component: 'local-agent' });
  const run = async () => {
    const { dataDir, grpcTlsCert } = loadGatewayConfig(overrides);
    mkdirSync(dataDir, { recursive: true });
    const token = await localAgentToken(gateway, dataDir);
    const port = gateway.grpcAddress.slice(gateway.grpcAddress.lastIndexOf(':') + 1);
    // With TLS on the gRPC endpoint, the agent trusts exactly the gateway's own certificate.
    const config = loadAgentConfig(
      grpcTlsCert && gateway.grpcFingerprint
        ? {
            gateway: `https://127.0.0.1:${port}`,
            token,
            caFile: grpcTlsCert,
            gatewayFingerprint: gateway.grpcFingerprint,
            dataDir: join(dataDir, 'agent'),
          }
        : { gateway: `http://127.0.0.1:${port}`, token, dataDir: join(dataDir, 'agent') },
      {},
    );
    const agent = startAgent(config, log);
    // Stopped with the gateway, before it, so Ctrl-C is not followed by the agent's reconnect warnings.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => agent.stop());
    process.stdout.write(
      `  agent     "${LOCAL_AGENT_NAME}" (assign connections to it with "agents": ["${LOCAL_AGENT_NAME}"])\n`,
    );
    const result = await agent.done;
    if (result.fatal) log.error({ reason: result.reason }, 'local agent stopped');
  };
  run().catch((error: unknown) => log.error({ err: error }, 'local agent failed to start'));
}
