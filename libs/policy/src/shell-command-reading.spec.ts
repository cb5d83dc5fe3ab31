import { describe, expect, it } from 'vitest';
import { decideCommand } from './command.engine';
import { parsePolicy } from './parse-policy';
import { readShellCommand } from './shell-command-reading';

describe('readShellCommand: what a shell runs, as far as a pattern can tell', () => {
  it.each([
    ["r''m -rf /", 'rm -rf /'],
    ['r\\m -rf /', 'rm -rf /'],
    ['\\rm -rf /', 'rm -rf /'],
    ['"rm" -rf /', 'rm -rf /'],
    ["sh -c 'rm -rf /'", 'sh -c rm -rf /'],
    ['rm -rf \\\n/', 'rm -rf /'],
  ])('undoes static quoting: %j reads as %j', (text, dequoted) => {
    expect(readShellCommand(text).dequoted).toBe(dequoted);
  });

  it.each([
    '$(echo rm) -rf /',
    '`echo rm` -rf /',
    'rm${IFS}-rf${IFS}/',
    'X=/; rm -rf $X',
    "$'\\x72m' -rf /",
    'ls && /???/r? -rf /',
    '{rm,-rf,/}',
    'echo cm0gLXJmIC8= | base64 -d | sh',
    "bash <<< 'rm -rf /'",
    'eval "r""m -rf /"',
    'env -i PATH=/bin bash',
    'sudo -u root bash -c id',
    'find / -exec sh -c x \\;',
    'python3 -c "import os"',
    '/usr/lib/openssh/sftp-server',
    'ls\0; rm -rf /',
    '!!',
    '!-1',
    '^ls^rm',
    'cat <(rm -rf /)',
    '$? -rf /',
    'stty erase x',
    'vim notes.txt',
    'less /var/log/syslog',
    'set -o vi',
    ':!touch x',
    'stty -icanon',
    'stty -echo erase x',
    'bind \'"q": "rm -rf /"\'',
    'alias l=rm',
    "complete -C 'rm -rf /' x",
    "trap 'rm -rf /' DEBUG",
    'hash -p /bin/rm x',
    'fc -s echo=rm',
    "PROMPT_COMMAND='rm -rf /'",
    "export PS1='$(rm -rf /)'",
    'echo $(( $(rm -rf /) ))',
    'echo $((x[$(id)]))',
    "2>&1 sh -c 'rm -rf /'",
    '>/dev/null bash',
    // Builtins that evaluate an array subscript (and the substitution in it) named in an argument,
    // or run a callback given as text.
    "printf -v 'a[$(rm -rf /)]' 1",
    "read 'a[$(rm -rf /)]' <<< 1",
    "test -v 'a[`rm -rf /`]'",
    "let 'a[$(rm -rf /)]=1'",
    "[[ 'a[${x:-$(rm -rf /)}]' -eq 1 ]]",
    "declare -n r='a[$(rm -rf /)]'",
    "echo x | mapfile -C 'rm -rf / #' -c 1",
    "readarray -tC 'rm -rf / #' -c1 a < f",
    // The shell's own input from a file: what it reads there next is no line the policy saw.
    // bash expands a MAILPATH message (command substitution included) when the mailbox changes.
    "MAILPATH='/tmp/box?$(rm -rf /)'",
    "export MAILPATH='/tmp/box?`rm -rf /`'",
    // env -S splits a string into a command line itself (with its own quoting and ${VAR}s).
    "env -S'rm -rf /'",
    "env -iS'rm -rf /'",
    "env --split-string='rm -rf /'",
    "sudo env -S 'rm -rf /'",
    "sg users -c 'rm -rf /'",
    'newgrp users',
    'run-parts /tmp/scripts',
    'exec 0</tmp/commands',
    'exec </tmp/commands',
    'exec 0<>/tmp/commands',
    'exec 0<&3',
    "exec <<< 'rm -rf /'",
    '</dev/null eval x',
  ])('is ambiguous: %j', (text) => {
    expect(readShellCommand(text).ambiguous).toBeDefined();
  });

  it.each([
    'ls -la /tmp',
    'uptime',
    'grep -r "a b" .',
    'ls *.log',
    'X=1 printenv X',
    'echo a # b',
    'scp -t /tmp',
    'df -h; free -m',
    'echo "status $?"',
    'kill -TERM $$',
    'echo recorded-$((6*7))',
    'echo $(( (1+2)*3 ))',
    'stty -echo',
    'stty size',
    'stty cols 100 rows 40',
    "echo 'a[1]' '$(not run)'",
    'mapfile -t lines < f',
    'exec 3</tmp/data',
    'exec 2>/dev/null',
    'exec env < /dev/null',
  ])('reads plain commands as they are: %j', (text) => {
    expect(readShellCommand(text).ambiguous).toBeUndefined();
  });

  it('knows when the shell waits for more lines (open quote, trailing backslash)', () => {
    expect(readShellCommand("echo 'a").incomplete).toBe(true);
    expect(readShellCommand('rm -rf \\').incomplete).toBe(true);
    expect(readShellCommand("echo 'a'").incomplete).toBe(false);
  });
});

describe('SSH deny patterns see through quoting and refuse what they cannot read', () => {
  const parsed = parsePolicy(
    `version: 1\nguardrails:\n  - name: no-rm\n    match: {protocol: ssh}\n    deny: {commands: ['\\brm\\s+-rf']}\n`,
    'test.yaml',
  );
  if (!parsed.ok) throw new Error('policy');
  const context = {
    subject: { subject: 'user:dev1', groups: ['dev'], actorChain: [] },
    connection: { name: 'bastion', protocol: 'ssh', tags: {} },
  };
  it.each([
    "r''m -rf /",
    'r\\m -rf /',
    '\\rm -rf /',
    '/bin/rm -rf /',
    'command rm -rf /',
    'env rm -rf /',
    'ls | xargs rm -rf',
    "sh -c 'rm -rf /'",
    'ls\nrm -rf /',
  ])('denies %j', (command) => {
    const facts = { kind: 'ssh' as const, command };
    expect(decideCommand(parsed.policy, context as never, facts).decision).toBe('deny');
  });
});

describe('a pattern anchored at the command name catches it wherever the shell runs it', () => {
  const parsed = parsePolicy(
    `version: 1\nguardrails:\n  - name: no-touch\n    match: {protocol: ssh}\n    deny: {commands: ['^touch\\b']}\n`,
    'test.yaml',
  );
  if (!parsed.ok) throw new Error('policy');
  const context = {
    subject: { subject: 'user:dev1', groups: ['dev'], actorChain: [] },
    connection: { name: 'bastion', protocol: 'ssh', tags: {} },
  };
  it.each([
    '/usr/bin/touch x',
    'ls; touch x',
    'ls&&touch x',
    'false||touch x',
    'ls | xargs touch',
    'ls & touch x',
    'env touch x',
    'env -i A=1 touch x',
    'command touch x',
    'sudo -u root touch x',
    'nohup /bin/touch x',
    'find . -exec touch {} \\;',
    '{ touch x; }',
    '(touch x)',
    'if true; then touch x; fi',
    'A=1 touch x',
    't""ouch x',
    // Redirections are not the command name, wherever they stand (and `&` in them ends nothing).
    '>/dev/null touch x',
    '2>&1 touch x',
    '1>&2 touch x',
    '&>/dev/null touch x',
    '</dev/null touch x',
    '<<<x touch y',
    '>|x touch y',
    '{fd}>x touch y',
    'A=1 2>x touch y',
    'sudo 2>x touch y',
    'ls >x; > y touch z',
    // A `#` inside a word (after quotes) starts no comment: the shell runs `#`, then touch.
    "''#; touch x",
    '""#;touch x',
    // Commands that run the command their arguments name.
    'jobs -x touch x',
    'setpriv --reuid=1000 touch x',
    'unshare -r touch x',
    'nsenter -t 1 -m touch x',
    'prlimit --nofile=10 touch x',
    'systemd-run --user touch x',
    'setarch x86_64 touch x',
    'fakeroot touch x',
    'pkexec touch x',
  ])('denies %j', (command) => {
    expect(decideCommand(parsed.policy, context as never, { kind: 'ssh', command }).decision).toBe('deny');
  });
  it.each([
    'ls touch',
    'echo touch',
    'cat /tmp/touch',
    'echo a>touch',
    'ls 2>&1 >touch',
    'echo a # ; touch x',
  ])('allows %j (touch is an argument, a file or a comment)', (command) => {
    expect(decideCommand(parsed.policy, context as never, { kind: 'ssh', command }).decision).toBe('allow');
  });
});
