import { ConfigError, loadGatewayConfig, type GatewayConfigOverrides } from '@tollgate/config';
import { DataDirLockedError, MigrationFailedError, StoreUnavailableError } from '@tollgate/store';
import { startGateway, type RunningGateway } from './start-gateway';

/**
 * Runs the gateway as the process's main job: validates configuration once, starts, and stops
 * gracefully on SIGTERM/SIGINT. A start-up failure is thrown; `isStartupProblem` tells the ones the
 * user can fix (said in one line) from bugs.
 */
export async function runGatewayProcess(
  overrides: GatewayConfigOverrides,
  onStarted?: (gateway: RunningGateway) => void,
): Promise<void> {
  const gateway = await startGateway(loadGatewayConfig(overrides));
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
