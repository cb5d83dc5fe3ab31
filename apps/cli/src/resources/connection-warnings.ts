const LOOPBACK = /^(127\.|localhost$|::1$|\[::1\]$)/;
const DATABASES = new Set(['postgres', 'mysql']);

/**
 * Defaults that surprise, said where they bite, with the fix: a database target without `tls` is
 * verified as verify-full, which a server on this machine (no certificate for 127.0.0.1) fails.
 */
export function connectionWarnings(
  name: string,
  protocol: string,
  target: Record<string, unknown>,
): string[] {
  if (!DATABASES.has(protocol) || typeof target['host'] !== 'string' || !LOOPBACK.test(target['host'])) {
    return [];
  }
  const tls = target['tls'] as { mode?: string } | undefined;
  if (tls !== undefined && tls.mode !== 'verify-full') return [];
  const why =
    tls === undefined ? 'no tls is set, so the agent verifies TLS as verify-full' : 'tls.mode is verify-full';
  return [
    `warning: ${name}: ${why}, which a database on ${target['host']} rarely has a certificate for: sessions will fail. ` +
      `Fix: set target.tls.mode to disable or require (tollgate admin connections edit ${name} --tls disable).`,
  ];
}
