import type { ConnectionContext, SubjectContext } from './context.types';
import type { Policy } from './policy.types';
import { matchApplies } from './selectors';

/**
 * Variables an SSH client may pass when no guardrail that applies to the session says otherwise:
 * the locale (what OpenSSH's SendEnv sends by default) and the time zone.
 */
export const DEFAULT_SSH_ENV: readonly string[] = ['LANG', 'LC_*', 'TZ'];

/**
 * The environment variables (names, `PREFIX*`, `*`) an SSH client may pass to the target in a
 * session: the union of `allow.env` of every guardrail that applies to it; when none of them has
 * `allow.env`, DEFAULT_SSH_ENV. So `allow: {env: []}` on an applying guardrail lets none through.
 */
export function sshEnvAllowlist(
  policy: Policy,
  context: { readonly subject: SubjectContext; readonly connection: ConnectionContext },
): readonly string[] {
  let said = false;
  const names = new Set<string>();
  for (const guardrail of policy.guardrails) {
    const env = guardrail.allow?.env;
    if (!env || !matchApplies(guardrail.match, context.subject, context.connection)) continue;
    said = true;
    for (const name of env) names.add(name);
  }
  return said ? [...names] : DEFAULT_SSH_ENV;
}

/** Whether `name` is covered by an allowlist of names, `PREFIX*` and `*` (case-sensitive, as POSIX). */
export function envNameAllowed(allowlist: readonly string[], name: string): boolean {
  return allowlist.some((pattern) =>
    pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern,
  );
}
