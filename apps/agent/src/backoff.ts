/**
 * Reconnect delays: exponential from `baseMs`, capped at `maxMs`, each drawn uniformly from the
 * upper half of its step ("equal jitter") so a fleet of agents does not reconnect in lockstep after
 * a gateway restart, yet none waits longer than the cap.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const step = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  reset(): void {
    this.attempt = 0;
  }
}
