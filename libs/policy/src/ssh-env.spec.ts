import { describe, expect, it } from 'vitest';
import { formatPolicyError, parsePolicy } from './parse-policy';
import { DEFAULT_SSH_ENV, envNameAllowed, sshEnvAllowlist } from './ssh-env';

const who = { subject: 'user:alice', groups: ['dev'], actorChain: [] };
const on = (name: string) => ({ subject: who, connection: { name, protocol: 'ssh' as const, tags: {} } });

function policy(guardrails: string) {
  const parsed = parsePolicy(
    `version: 1\nroles:\n  - {name: all, subjects: ['*'], connections: ['*'], verbs: [connect]}\nguardrails:\n${guardrails}`,
    'test.yaml',
  );
  if (!parsed.ok) throw new Error(parsed.errors.map(formatPolicyError).join('\n'));
  return parsed.policy;
}

describe('sshEnvAllowlist', () => {
  it('is LANG, LC_* and TZ when no applying guardrail says anything about env', () => {
    const p = policy(`  - {name: g, match: {connections: [other]}, allow: {env: [FOO]}}\n`);
    expect(sshEnvAllowlist(p, on('web'))).toEqual(DEFAULT_SSH_ENV);
    expect(DEFAULT_SSH_ENV).toEqual(['LANG', 'LC_*', 'TZ']);
  });

  it('is the union of the applying guardrails’ allow.env, replacing the default', () => {
    const p = policy(
      `  - {name: a, match: {protocol: [ssh]}, allow: {env: [LANG, 'APP_*']}}\n` +
        `  - {name: b, match: {connections: [web]}, allow: {env: [TZ]}}\n`,
    );
    expect(sshEnvAllowlist(p, on('web'))).toEqual(['LANG', 'APP_*', 'TZ']);
    expect(sshEnvAllowlist(p, on('db'))).toEqual(['LANG', 'APP_*']);
  });

  it('lets nothing through with allow: {env: []}', () => {
    const p = policy(`  - {name: none, allow: {env: []}}\n`);
    expect(sshEnvAllowlist(p, on('web'))).toEqual([]);
  });

  it('refuses names that are not variable names, and an empty allow', () => {
    for (const [text, message] of [
      [`  - {name: g, allow: {env: ['LC-ALL']}}\n`, /expected an environment variable name/],
      [`  - {name: g, allow: {env: ['*FOO']}}\n`, /expected an environment variable name/],
      [`  - {name: g, allow: {}}\n`, /expected opaque, env or both/],
    ] as const) {
      const parsed = parsePolicy(
        `version: 1\nroles:\n  - {name: all, subjects: ['*'], connections: ['*'], verbs: [connect]}\nguardrails:\n${text}`,
        'test.yaml',
      );
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.errors.map(formatPolicyError).join('\n')).toMatch(message);
    }
  });
});

describe('envNameAllowed', () => {
  it('matches names exactly, prefixes ending in *, and * for all', () => {
    expect(envNameAllowed(['LANG', 'LC_*'], 'LANG')).toBe(true);
    expect(envNameAllowed(['LANG', 'LC_*'], 'LC_ALL')).toBe(true);
    expect(envNameAllowed(['LANG', 'LC_*'], 'LANGUAGE')).toBe(false);
    expect(envNameAllowed(['LANG'], 'lang')).toBe(false);
    expect(envNameAllowed(['*'], 'ANYTHING')).toBe(true);
    expect(envNameAllowed([], 'LANG')).toBe(false);
  });
});

describe('environment names that run code on the target', () => {
  it.each([
    'LD_PRELOAD',
    'BASH_ENV',
    'ENV',
    'PROMPT_COMMAND',
    'PATH',
    'PS4',
    'SHELLOPTS',
    'LD_LIBRARY_PATH',
    // Where start-up files and key bindings are read from (bash's ~/.bashrc, zsh's, readline's).
    'HOME',
    'ZDOTDIR',
    'XDG_CONFIG_HOME',
    'INPUTRC',
    'MAILPATH',
    'FPATH',
    // Loaders and runtimes that run code a variable names; programs that run a command a variable holds.
    'GLIBC_TUNABLES',
    'JAVA_TOOL_OPTIONS',
    '_JAVA_OPTIONS',
    'LUA_INIT',
    'OPENSSL_CONF',
    'PERL5DB',
    'PAGER',
    'MANPAGER',
    'EDITOR',
    'VISUAL',
    'LESSOPEN',
    'SHELL',
  ])('%s passes only when named, never through a wildcard', (name) => {
    expect(envNameAllowed(['*'], name)).toBe(false);
    expect(envNameAllowed([`${name.slice(0, 2)}*`], name)).toBe(false);
    expect(envNameAllowed([name], name)).toBe(true);
  });
  it.each(['BASH_FUNC_ls%%', 'LC_X=1', 'LC_A B', 'LC_\n', ''])(
    'refuses the malformed name %j whatever the list says',
    (name) => {
      expect(envNameAllowed(['*', 'LC_*', name], name)).toBe(false);
    },
  );
  it('still lets ordinary names through a wildcard', () => {
    expect(envNameAllowed(['*'], 'APP_MODE')).toBe(true);
    expect(envNameAllowed(['LC_*'], 'LC_ALL')).toBe(true);
  });
});
