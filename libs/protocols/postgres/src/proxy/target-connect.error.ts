/**
 * The agent could not open an authenticated session to the target. `sqlState` and `message` are
 * what the client is told (in a FATAL ErrorResponse); neither carries a secret.
 */
export class TargetConnectError extends Error {
  constructor(
    readonly sqlState: string,
    message: string,
    /** True when the target could not be reached at all (as opposed to refusing us). */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = 'TargetConnectError';
  }
}
