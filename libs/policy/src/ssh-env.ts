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

/**
 * Names that make the target's loader or shell run code of the client's choosing (a preloaded
 * library, a start-up file or the directory it is read from, key bindings, a prompt or mail hook,
 * an exported function, a loader tunable, a runtime's start-up options) or a command a program runs
 * for the user (a pager, an editor), or change which program a command name runs. A wildcard (`*`,
 * `LD_*`) never covers them; only the exact name does.
 */
const CODE_RUNNING = new RegExp(
  '^(?:' +
    [
      'LD_.*|DYLD_.*|GLIBC_TUNABLES|GCONV_PATH|LOCPATH|NLSPATH|HOSTALIASES',
      'BASH_ENV|ENV|BASH_FUNC_.*|PROMPT_COMMAND|PS[0-4]|MAILPATH|SHELLOPTS|BASHOPTS|IFS|CDPATH|PATH|FPATH|GLOBIGNORE',
      'HOME|ZDOTDIR|XDG_CONFIG_HOME|XDG_CONFIG_DIRS|INPUTRC|SHELL|TERMINFO|TERMINFO_DIRS',
      'PERL5LIB|PERLLIB|PERL5OPT|PERL5DB|PYTHONPATH|PYTHONSTARTUP|PYTHONHOME|PYTHONWARNINGS|RUBYOPT|RUBYLIB',
      'NODE_OPTIONS|NODE_PATH|JAVA_TOOL_OPTIONS|_JAVA_OPTIONS|JDK_JAVA_OPTIONS|CLASSPATH|LUA_INIT.*|LUA_PATH.*|LUA_CPATH.*',
      'OPENSSL_CONF|OPENSSL_ENGINES|PAGER|MANPAGER|SYSTEMD_PAGER|SYSTEMD_EDITOR|EDITOR|VISUAL|BROWSER|LESSOPEN|LESSCLOSE',
      'GIT_.*|SSH_.*|SUDO_.*',
    ].join('|') +
    ')$',
);

/**
 * Whether `name` is covered by an allowlist of names, `PREFIX*` and `*` (case-sensitive, as POSIX).
 * Only a variable name a shell accepts can be covered (sshd would pass `BASH_FUNC_f%%` or `A=B`
 * as is); names in CODE_RUNNING only by themselves.
 */
export function envNameAllowed(allowlist: readonly string[], name: string): boolean {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return false;
  const wildcardable = !CODE_RUNNING.test(name);
  return allowlist.some((pattern) =>
    pattern.endsWith('*') ? wildcardable && name.startsWith(pattern.slice(0, -1)) : name === pattern,
  );
}
