import type { Command } from 'commander';
import { ConfigError } from '@tollgate/config';
import { ApiCallError, ApiClient } from './api-client';

/** Runs an admin action against the API; failures print one line and exit 1 (no stack trace). */
export async function runAdmin(command: Command, action: (api: ApiClient) => Promise<void>): Promise<void> {
  const { gateway } = command.optsWithGlobals<{ gateway?: string }>();
  try {
    await action(ApiClient.fromEnvironment(gateway));
  } catch (error) {
    if (error instanceof ApiCallError || error instanceof ConfigError || error instanceof TypeError) {
      const cause =
        error instanceof TypeError && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      process.stderr.write(`tollgate ${command.name()}: ${error.message}${cause}\n`);
      process.exit(1);
    }
    throw error;
  }
}
