import { ConfigError, loadAgentConfig, type AgentConfig, type AgentConfigOverrides } from '@tollgate/config';
import type { Logger } from 'pino';
import { createAgentLogger } from './agent-logger';
import { acceptLargeHttp2Frames, installInPlaceGrpcFraming, tuneHeapForRelaying } from '@tollgate/proto';
import { TunnelClient } from './tunnel-client';

export interface RunningAgent {
  readonly tunnel: TunnelClient;
  /** Resolves when the agent stops: `fatal` when the gateway rejected its token. */
  readonly done: Promise<{ fatal: boolean; reason: string }>;
  /** Ends every session now. */
  stop(): void;
  /** Stops taking sessions and lets open ones finish (up to the drain timeout); a second call ends them. */
  shutdown(): Promise<void>;
}

/** Starts an agent (in this process; the quickstart runs one next to its gateway). */
export function startAgent(config: AgentConfig, logger?: Logger): RunningAgent {
  installInPlaceGrpcFraming();
  acceptLargeHttp2Frames();
  const log = logger ?? createAgentLogger(config.logLevel, config.logFormat);
  const tunnel = new TunnelClient(config, log);
  log.info({ gateway: config.gateway.address, tls: config.gateway.tls }, 'agent starting');
  return {
    tunnel,
    done: tunnel.run(),
    stop: () => tunnel.stop(),
    shutdown: () => tunnel.shutdown(config.drainTimeoutMs),
  };
}

/** `tollgate agent`: runs until SIGTERM/SIGINT (drained); exit 1 on bad settings or a rejected token. */
export async function runAgentProcess(overrides: AgentConfigOverrides): Promise<void> {
  let agent: RunningAgent;
  try {
    agent = startAgent(loadAgentConfig(overrides));
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tollgate agent: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // A process of its own (not the quickstart's, which shares its heap with the gateway).
  tuneHeapForRelaying();
  // The first SIGTERM/SIGINT drains (open sessions finish, new ones go to other agents); a second
  // one ends everything at once.
  const signalled = () => void agent.shutdown();
  process.on('SIGTERM', signalled);
  process.on('SIGINT', signalled);
  const result = await agent.done;
  if (result.fatal) process.stderr.write(`tollgate agent: ${result.reason}\n`);
  process.exit(result.fatal ? 1 : 0);
}
