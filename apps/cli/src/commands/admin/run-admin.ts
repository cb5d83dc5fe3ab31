import type { Command } from 'commander';
import { ApiClient } from '../../api-client';

/**
 * Runs an admin action against the API named by --gateway (on `admin` or the command itself) or
 * TOLLGATE_URL. Failures are thrown: the program prints them once, naming the command.
 */
export async function runAdmin(command: Command, action: (api: ApiClient) => Promise<void>): Promise<void> {
  const { gateway } = command.optsWithGlobals<{ gateway?: string }>();
  await action(ApiClient.fromEnvironment(gateway));
}
