import { ConfigError, loadGatewayConfig, type GatewayConfigOverrides } from '@tollgate/config';
import { DataDirLockedError, MigrationFailedError, StoreUnavailableError } from '@tollgate/store';
import { startGateway, type RunningGateway, type StartGatewayOptions } from './start-gateway';

export interface GatewayProcessOptions extends StartGatewayOptions {
  /** The command's own defaults, where neither a flag nor the environment sets a value. */
  readonly defaults?: GatewayConfigOverrides;
}

/**
 * Runs the gateway as the process's main job: validates configuration once, starts, and stops
 * gracefully on SIGTERM/SIGINT. A start-up failure is thrown; `isStartupProblem` tells the ones the
 * user can fix (said in one line) from bugs.
 */
export async function runGatewayProcess(
  overrides: GatewayConfigOverrides,
  onStarted?: (gateway: RunningGateway) => void,
  options: GatewayProcessOptions = {},
): Promise<void> {
  const { defaults, ...startOptions } = options;
  const gateway = await startGateway(loadGatewayConfig(overrides, undefined, defaults), startOptions);
  onStarted?.(gateway);
  const stop = (signal: NodeJS.Signals) => {
    gateway.logger.info({ signal }, 'signal received');
    gateway.close().then(
      () => process.exit(0),
      (error: unknown) => {
        gateway.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

export function isStartupProblem(error: unknown): error is Error {
  return (
    error instanceof ConfigError ||
    error instanceof DataDirLockedError ||
    error instanceof MigrationFailedError ||
    error instanceof StoreUnavailableError ||
    isAddressInUse(error)
  );
}

function isAddressInUse(error: unknown): error is Error {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
}
