/**
 * The database cannot be reached or opened. `target` names it without credentials
 * (host:port/database or the PGlite directory), so the message is safe to show and log.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';

  constructor(
    readonly target: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot open the database at ${target}: ${reason}`, options);
  }
}
