import { ConfigError } from '@tollgate/config';

/**
 * Runs a client command; an expected failure (bad setting, not logged in, refused by the gateway,
 * gateway unreachable) prints one line and exits 1, with no stack trace.
 */
export async function runClientCommand(name: string, action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    const message =
      error instanceof ConfigError
        ? error.message
        : error instanceof TypeError && error.cause instanceof Error
          ? `${error.message}: ${error.cause.message}`
          : error instanceof Error
            ? error.message
            : String(error);
    process.stderr.write(`tollgate ${name}: ${message}\n`);
    process.exit(1);
  }
}
