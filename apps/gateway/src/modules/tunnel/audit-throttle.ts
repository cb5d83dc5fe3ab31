/**
 * Keeps repeated refusals from flooding the audit log (and the webhook behind it) without hiding
 * them: the first refusal for a key is recorded at once, repeats within the window are counted,
 * and the next one after the window is recorded with that count. A key is, for example,
 * one refused instance of one agent, or one token prefix from one address.
 */
export class AuditThrottle {
  private readonly keys = new Map<string, { recordedAt: number; suppressed: number }>();

  constructor(
    private readonly windowMs: number,
    /** Keys remembered at most; past it the oldest are forgotten (their next refusal is recorded). */
    private readonly maxKeys = 10_000,
  ) {}

  /** Whether to record this refusal now, and how many of its kind went unrecorded before it. */
  admit(key: string, now: number): { readonly record: boolean; readonly suppressed: number } {
    const entry = this.keys.get(key);
    if (entry && now - entry.recordedAt < this.windowMs) {
      entry.suppressed++;
      return { record: false, suppressed: 0 };
    }
    const suppressed = entry?.suppressed ?? 0;
    this.keys.delete(key);
    this.keys.set(key, { recordedAt: now, suppressed: 0 });
    if (this.keys.size > this.maxKeys) this.forgetOldest(now);
    return { record: true, suppressed };
  }

  private forgetOldest(now: number): void {
    // Insertion order is recording order: expired keys first, then the oldest if still too many.
    for (const [key, entry] of this.keys) {
      if (this.keys.size <= this.maxKeys && now - entry.recordedAt < this.windowMs) return;
      this.keys.delete(key);
    }
  }
}
