const LOOPBACK = /^(127\.|localhost$|::1$|\[::1\]$)/;
const DATABASES = new Set(['postgres', 'mysql']);

/**
 * Defaults that surprise, said where they bite, with the fix: a database target without `tls` is
 * verified as verify-full, which a server on this machine (no certificate for 127.0.0.1) fails; an
 * SSH target with no pinned host key and no trust on first use is refused on every session.
 */
export function connectionWarnings(
  name: string,
  protocol: string,
  target: Record<string, unknown>,
): string[] {
  if (protocol === 'ssh' && !target['hostKeyFingerprint'] && target['trustOnFirstUse'] !== true) {
    return [
      `warning: ${name}: no host key is pinned and trust on first use is off, so the agent refuses every session ` +
        `(it could not tell the server from an impostor). Fix: tollgate admin connections edit ${name} ` +
        `--host-key SHA256:... (ssh-keygen -lf the server's host key .pub) or --trust-on-first-use.`,
    ];
  }
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
