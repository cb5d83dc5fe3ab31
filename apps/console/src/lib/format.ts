/** "just now", "5 min ago", "3 h ago", "in 20 min", or the date for anything older than a week. */
export function formatRelative(date: Date, now = Date.now()): string {
  const seconds = Math.round((date.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const say = (n: number, unit: string) => (seconds < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`);
  if (abs < 45) return seconds < 0 || abs < 5 ? 'just now' : `in ${abs} s`;
  if (abs < 3600) return say(Math.round(abs / 60), 'min');
  if (abs < 86_400) return say(Math.round(abs / 3600), 'h');
  if (abs < 7 * 86_400) return say(Math.round(abs / 86_400), abs < 1.5 * 86_400 ? 'day' : 'days');
  return date.toLocaleDateString();
}

/** `1h30m`-style duration from seconds. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}` || `${seconds}s`;
}

/** `env=prod, team=db` → {env: 'prod', team: 'db'}; problems are named. */
export function parseTags(text: string): { tags: Record<string, string>; problems: string[] } {
  const tags: Record<string, string> = {};
  const problems: string[] = [];
  for (const part of text.split(/[,\n]/)) {
    const item = part.trim();
    if (!item) continue;
    const at = item.indexOf('=');
    if (at <= 0) problems.push(`"${item}" is not key=value`);
    else tags[item.slice(0, at).trim()] = item.slice(at + 1).trim();
  }
  return { tags, problems };
}

export function formatTags(tags: Record<string, string>): string {
  return Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
