/** Failed logins from one address within the window before its logins are refused unchecked. */
export const MAX_LOGIN_FAILURES = 10;
export const LOGIN_FAILURE_WINDOW_MS = 60_000;

/**
 * Failed listener logins (a credential refused, a user name that does not name its owner) by key:
 * the source address and user name, or the address alone (ListenerSessions keeps one of each, the
 * second with a higher ceiling). Below, "address" is the key. Past MAX_LOGIN_FAILURES (or the
 * ceiling given) within the window, an address's logins are refused before
 * their credential is looked at, until its oldest failure in the window is older than the window:
 * guessing is held to that rate per address, and a flood of guesses writes no audit record per
 * guess (the refusals are recorded throttled). A success clears nothing: a client holding one
 * valid credential cannot reset its count while guessing others. Addresses are counted apart
 * (an IPv6 client with many addresses gets a budget for each); kept per gateway replica.
 */
export class LoginFailures {
  private readonly byAddress = new Map<string, number[]>();

  constructor(
    private readonly max = MAX_LOGIN_FAILURES,
    private readonly windowMs = LOGIN_FAILURE_WINDOW_MS,
    /** Addresses remembered at most; past it the one failing longest ago is forgotten. */
    private readonly maxAddresses = 10_000,
  ) {}

  /** How long (ms) logins from `address` stay refused; 0 when they may try. */
  blockedFor(address: string, now: number): number {
    const times = this.recent(address, now);
    if (times.length < this.max) return 0;
    return times[times.length - this.max] + this.windowMs - now;
  }

  failed(address: string, now: number): void {
    const times = this.recent(address, now);
    times.push(now);
    // Only the last `max` failures decide anything.
    if (times.length > this.max) times.splice(0, times.length - this.max);
    this.byAddress.delete(address);
    this.byAddress.set(address, times);
    if (this.byAddress.size > this.maxAddresses) {
      const oldest = this.byAddress.keys().next();
      if (!oldest.done) this.byAddress.delete(oldest.value);
    }
  }

  private recent(address: string, now: number): number[] {
    const times = (this.byAddress.get(address) ?? []).filter((t) => now - t < this.windowMs);
    if (times.length === 0) this.byAddress.delete(address);
    else this.byAddress.set(address, times);
    return times;
  }
}
