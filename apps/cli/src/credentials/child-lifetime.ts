/**
 * `token exchange --expires-in`: checked before anything is sent. A child token never outlives its
 * parent, so asking for more is the caller's mistake, said plainly here rather than as the gateway's
 * refusal after a round trip.
 */
export function checkChildLifetime(
  expiresIn: string,
  parentExpiresAt: number | undefined,
  nowSeconds: number,
): number {
  if (!/^[1-9][0-9]{0,8}$/.test(expiresIn)) {
    throw new Error(
      `--expires-in must be a positive whole number of seconds, got ${JSON.stringify(expiresIn)}`,
    );
  }
  const seconds = Number(expiresIn);
  // An API key (no exp) or an opaque token: the gateway checks the lifetime itself.
  if (parentExpiresAt === undefined) return seconds;
  const left = Math.floor(parentExpiresAt - nowSeconds);
  if (left <= 0) {
    throw new Error(
      `the current token expired at ${new Date(parentExpiresAt * 1000).toISOString()}: log in again (or get a fresh TOLLGATE_TOKEN)`,
    );
  }
  if (seconds > left) {
    throw new Error(
      `--expires-in ${seconds} is beyond the current token's expiry ` +
        `(${new Date(parentExpiresAt * 1000).toISOString()}, ${left} s from now): ` +
        `a child token never outlives its parent; ask for at most ${left} seconds`,
    );
  }
  return seconds;
}
