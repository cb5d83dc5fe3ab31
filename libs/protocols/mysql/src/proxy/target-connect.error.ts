/**
 * The agent could not open an authenticated session to the target. `code`, `sqlState` and `message`
 * are what the client is told (in an ERR packet); none carries a secret.
 */
export class TargetConnectError extends Error {
  constructor(
    readonly code: number,
    readonly sqlState: string,
    message: string,
    /** True when the target could not be reached at all (as opposed to refusing us). */
    readonly unreachable = false,
  ) {
    super(message);
    this.name = 'TargetConnectError';
  }
}

/** ER_ACCESS_DENIED_ERROR and its SQLSTATE. */
export const ACCESS_DENIED = { code: 1045, sqlState: '28000' } as const;
/** CR_CONNECTION_ERROR-like: the target could not be reached or spoke something else. */
export const CONNECTION_FAILED = { code: 2003, sqlState: '08S01' } as const;
