const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * `--since`: how far back, as a duration from now (`90s`, `10m`, `2h`, `7d`) or an ISO 8601 time;
 * the ISO time it means.
 */
export function parseSince(value: string, now = Date.now()): string {
  const duration = /^([0-9]{1,6})([smhd])$/.exec(value);
  if (duration) {
    return new Date(now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS]).toISOString();
  }
  const time = new Date(value);
  if (/^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(value) && !Number.isNaN(time.getTime())) return time.toISOString();
  throw new Error(
    `--since: expected a duration back from now (90s, 10m, 2h, 7d) or an ISO 8601 time, got ${JSON.stringify(value)}`,
  );
}
