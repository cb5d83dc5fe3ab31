/**
 * How a POSIX shell will read an SSH command line, as far as a policy pattern can rely on it.
 *
 * Patterns match text; a shell runs what its quoting, expansions and evaluation make of the text.
 * Quoting is static and is undone here (`r''m`, `r\m`, `"rm"` read as `rm`), so a pattern is tested
 * against both the text and its `dequoted` form. What is decided only when the shell runs (parameter
 * and command substitution, `${IFS}`, brace expansion, a glob or expansion as a command name, history
 * expansion, and commands that run code of their own: shells, interpreters, `eval`, `source`) makes
 * the line `ambiguous`: its meaning cannot be read from its text, so a rule that depends on the text
 * refuses it (fail closed). No I/O.
 */
export interface ShellCommandReading {
  /** The text with quotes and backslashes removed (line continuations joined). */
  readonly dequoted: string;
  /**
   * Each simple command on a line of its own, from its command name (a path reduced to the file's
   * name, wrappers such as `env`, `sudo`, `xargs` also read as the command they run): `^rm\b` with
   * the multi-line flag catches `ls; /bin/rm x` and `env rm x` here.
   */
  readonly commands: string;
  /** Why the text does not say what the shell will run; absent when it does. */
  readonly ambiguous?: string;
  /** The text ends inside quotes or with a line continuation: the shell waits for more lines. */
  readonly incomplete: boolean;
}

/** Command names that run code the policy cannot read (from arguments, files or stdin). */
const EVALUATORS = new Set([
  'sh',
  'bash',
  'dash',
  'zsh',
  'ksh',
  'mksh',
  'ash',
  'csh',
  'tcsh',
  'fish',
  'busybox',
  'toybox',
  'eval',
  'source',
  '.',
  'python',
  'python2',
  'python3',
  'perl',
  'ruby',
  'node',
  'php',
  'lua',
  'tclsh',
  'expect',
  'awk',
  'gawk',
  'mawk',
  'nawk',
  'su',
  'script',
  'socat',
  'ssh',
  'at',
  'batch',
  'crontab',
  'watch',
  'parallel',
  'sftp-server',
  // A shell under another group (`sg g -c 'cmd'`, `newgrp`), every script in a directory.
  'sg',
  'newgrp',
  'run-parts',
  // Editors, pagers and clients with a shell escape or a command of their own (vim's `:call
  // system()`, mysql's `system`, sqlite3's `.shell`): what is typed there is no shell line.
  'vi',
  'vim',
  'nvim',
  'view',
  'ex',
  'ed',
  'emacs',
  'nano',
  'less',
  'more',
  'most',
  'man',
  'mail',
  'mailx',
  'ftp',
  'gdb',
  'tmux',
  'screen',
  'mysql',
  'mariadb',
  'psql',
  'sqlite3',
  'mc',
]);

/**
 * Commands that change how the shell reads or runs later lines (key bindings and macros, terminal
 * special characters, aliases, completion hooks, traps, the command hash, history reruns): a line
 * decided later would no longer mean what its text says.
 */
const STATE_CHANGERS = new Set([
  'stty',
  'bind',
  'alias',
  'complete',
  'compgen',
  'compopt',
  'hash',
  'enable',
  'trap',
  'fc',
  'history',
  'setopt',
  'zle',
  'bindkey',
  'reset',
  'tset',
]);

const STTY_OUTPUT_ONLY = /^(?:-?echo[a-z]*|-a|--all|-g|size|speed|cols|rows|columns|\d+|-?onlcr|-?opost)$/;

/** Variables the shell runs, or reads key bindings and history from, when they are set. */
const SHELL_HOOK_VARIABLES =
  /\b(?:PROMPT_COMMAND|PS[0-4]|MAILPATH|BASH_ENV|ENV|INPUTRC|HISTFILE|BASH_LOADABLES_PATH|LD_PRELOAD|LD_LIBRARY_PATH|precmd|preexec|TRAPDEBUG)\b/;

/** Commands that run the command named in their arguments (`env rm`, `sudo -u x rm`). */
const WRAPPERS = new Set([
  'env',
  'command',
  'builtin',
  'exec',
  'nohup',
  'sudo',
  'doas',
  'time',
  'nice',
  'ionice',
  'timeout',
  'stdbuf',
  'xargs',
  'setsid',
  'chroot',
  'strace',
  'ltrace',
  'unbuffer',
  'chrt',
  'taskset',
  'flock',
  'runuser',
  // Process attributes, namespaces, limits, users: each runs the command its arguments name.
  'jobs', // jobs -x CMD
  'setpriv',
  'unshare',
  'nsenter',
  'prlimit',
  'setarch',
  'linux32',
  'linux64',
  'numactl',
  'cgexec',
  'systemd-run',
  'pkexec',
  'gosu',
  'su-exec',
  'setuidgid',
  'chpst',
  'fakeroot',
  'faketime',
  'eatmydata',
  'nocache',
  'firejail',
  'bwrap',
  'torsocks',
  'proxychains',
  'proxychains4',
  'dbus-run-session',
  'xvfb-run',
  'ssh-agent',
  'catchsegv',
  'valgrind',
  'rlwrap',
  'chronic',
  'ifne',
  'tini',
  'dumb-init',
  'daemonize',
  'systemd-inhibit',
  'cpulimit',
  'then',
  'do',
  'else',
  'elif',
  'if',
  'while',
  'until',
  '!',
  'coproc',
  'find',
  '{',
]);

/** Control characters other than Tab and newline (NUL ends a C string; CR, ESC and the rest mean nothing to a pattern). */
const hasControl = (text: string) =>
  [...text].some((c) => {
    const code = c.charCodeAt(0);
    return (code < 0x20 && c !== '\t' && c !== '\n') || code === 0x7f;
  });

export function readShellCommand(text: string): ShellCommandReading {
  let ambiguous: string | undefined = hasControl(text) ? 'control characters in the command' : undefined;
  const flag = (reason: string) => (ambiguous ??= reason);
  let out = '';
  // Words of the current simple command (dequoted), to find its command name.
  let word = '';
  let wordExpands = false;
  // The word began with quoting or a backslash (`''#` is a word, not a comment).
  let wordQuoted = false;
  // The next word is a redirection's target (`>x`, `2>&1`), not a command name or argument.
  let redirectNext = false;
  // That redirection is of standard input (`<f`, `0<&3`, `<<<`).
  let redirectInput = false;
  let words: Word[] = [];
  let quote: 'none' | 'single' | 'double' = 'none';
  const commands: string[] = [];

  const endWord = () => {
    if (word !== '' || wordExpands || wordQuoted) {
      words.push({
        text: word,
        expands: wordExpands,
        ...(redirectNext ? { redirect: true, ...(redirectInput ? { input: true } : {}) } : {}),
      });
      redirectNext = false;
    }
    word = '';
    wordExpands = false;
    wordQuoted = false;
  };
  const endCommand = () => {
    endWord();
    redirectNext = false;
    commands.push(...commandLines(words, flag));
    words = [];
  };

  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (quote === 'single') {
      if (c === "'") quote = 'none';
      else {
        out += c;
        word += c;
      }
      continue;
    }
    if (c === '\\') {
      if (next === undefined) {
        // A trailing backslash continues the line.
        out += c;
        endCommand();
        return finish(out, commands, ambiguous, true);
      }
      i++;
      if (next === '\n') continue;
      wordQuoted = true;
      if (quote === 'double' && !'$`"\\'.includes(next)) {
        out += c;
        word += c;
      }
      out += next;
      word += next;
      continue;
    }
    if (c === '$') {
      // A number cannot spell a command or an option: the status `$?`, the process ids `$$` and
      // `$!`, the count `$#`, and arithmetic on literal numbers are read as they are (though never
      // as a command name, below).
      const numeric = /^\$(?:[?$!#]|\(\([\d\s+*/%()-]*\)\))/.exec(text.slice(i))?.[0];
      if (numeric) {
        // Read as is, whole (its parentheses and `*` are arithmetic, not shell syntax).
        out += numeric;
        word += numeric;
        wordExpands = true;
        i += numeric.length - 1;
        continue;
      }
      if (next === "'" || next === '"') flag('$\'...\' or $"..." quoting');
      else if (next === '(' || next === '{' || next === '[') flag('a $(...) or ${...} expansion');
      else if (next !== undefined && /[A-Za-z0-9_@*#?!$-]/.test(next)) flag('a $variable expansion');
      if (next !== undefined && !/[\s;&|)]/.test(next)) wordExpands = true;
      out += c;
      word += c;
      continue;
    }
    if (c === '`') {
      flag('a `...` command substitution');
      out += c;
      word += c;
      continue;
    }
    if (quote === 'double') {
      if (c === '"') quote = 'none';
      else {
        out += c;
        word += c;
      }
      continue;
    }
    // Unquoted.
    if (c === "'") {
      quote = 'single';
      wordQuoted = true;
      continue;
    }
    if (c === '"') {
      quote = 'double';
      wordQuoted = true;
      continue;
    }
    if ((c === '<' || c === '>') && next === '(') flag('a <(...) process substitution');
    else if (c === '<' || c === '>' || (c === '&' && next === '>')) {
      // A redirection operator ends the word before it, unless that word is its file descriptor
      // (`2>`, `{fd}>`); the word after it is its target. Its `&` (`2>&1`, `&>`) separates nothing.
      const operator = /^(?:&>>?|<<<|<<-?|<>|<&|>&|>>|>\||<|>)/.exec(text.slice(i))![0];
      let fd = '';
      if (!wordQuoted && !wordExpands && /^(?:\d+|\{[A-Za-z_][A-Za-z0-9_]*\})$/.test(word)) {
        fd = word;
        word = '';
      } else endWord();
      redirectInput = operator.startsWith('<') && (fd === '' || /^0+$/.test(fd));
      out += operator;
      i += operator.length - 1;
      redirectNext = true;
      continue;
    }
    if (c === '{' && /^\{[^\s{}]*(,|\.\.)[^\s{}]*\}/.test(text.slice(i))) flag('a {a,b} brace expansion');
    if (c === '!' && next !== undefined && !/[\s=(]/.test(next)) flag('a !history expansion');
    if (c === '^' && (i === 0 || text[i - 1] === '\n')) flag('a ^old^new history substitution');
    if (c === '#' && word === '' && !wordQuoted && !wordExpands) {
      // A comment: the shell ignores the rest of the line; the pattern still sees it (wider).
      const end = text.indexOf('\n', i);
      out += end < 0 ? text.slice(i) : text.slice(i, end);
      i = end < 0 ? text.length : end - 1;
      continue;
    }
    out += c;
    if (/[;&|()\n]/.test(c)) endCommand();
    else if (/\s/.test(c)) endWord();
    else {
      if (/[*?[]/.test(c)) wordExpands = true;
      word += c;
    }
  }
  endCommand();
  const hook = SHELL_HOOK_VARIABLES.exec(out)?.[0];
  if (hook) flag(`${hook} is a variable the shell runs or reads`);
  return finish(out, commands, ambiguous, quote !== 'none');
}

function finish(
  out: string,
  lines: readonly string[],
  ambiguous: string | undefined,
  incomplete: boolean,
): ShellCommandReading {
  // `${IFS}` reads as a space; replacing it widens what a pattern sees (the line stays ambiguous).
  const dequoted = out.replace(/\$\{?IFS\}?/g, ' ');
  const commands = lines.join('\n');
  return ambiguous ? { dequoted, commands, ambiguous, incomplete } : { dequoted, commands, incomplete };
}

interface Word {
  readonly text: string;
  readonly expands: boolean;
  /** The target of a redirection (`>x`): never the command name. */
  readonly redirect?: boolean;
  /** That redirection is of standard input. */
  readonly input?: boolean;
}

/** The lines a simple command contributes to `commands`; flags a command name it cannot read. */
function commandLines(allWords: readonly Word[], flag: (reason: string) => void): string[] {
  // Redirections may stand anywhere in a simple command, before its name too (`2>&1 rm x`).
  const words = allWords.filter((w) => !w.redirect);
  // Builtins that take a variable name (printf -v, read, test -v, let, declare, an assignment under
  // declare -i) evaluate an array subscript in it, substitutions included, however it was quoted.
  const subscript = words.find((w) => /\[[^\]]*(?:\$[({[]|`)/.test(w.text));
  if (subscript) flag(`an array subscript ${JSON.stringify(subscript.text)} runs what is substituted in it`);
  const lines: string[] = [];
  const lineFrom = (at: number) => {
    const [name, ...rest] = words.slice(at).map((w) => w.text);
    lines.push([name!.slice(name!.lastIndexOf('/') + 1), ...rest].join(' '));
  };
  let i = 0;
  // Assignments before the command (`X=1 cmd`).
  while (i < words.length && /^[A-Za-z_][A-Za-z0-9_]*\+?=/.test(words[i]!.text)) i++;
  // `exec` with no command keeps its redirections for the shell itself: `exec <file` makes the shell
  // read its next commands from the file, lines no rule is asked about.
  if (
    words[i]?.text === 'exec' &&
    words.slice(i + 1).every((w) => w.text.startsWith('-')) &&
    allWords.some((w) => w.input)
  ) {
    flag('exec < FILE makes the shell read its next commands from FILE');
  }
  // After a wrapper, every later word may be the command it runs (`sudo -u root bash`).
  let wrapped = false;
  for (; i < words.length; i++) {
    const { text, expands } = words[i]!;
    if (expands) {
      flag(
        wrapped
          ? `a word ${JSON.stringify(text)} after a command wrapper is expanded by the shell`
          : `the command name ${JSON.stringify(text)} is expanded by the shell`,
      );
      if (!wrapped) break;
    }
    if (wrapped && (text.startsWith('-') || /^[A-Za-z_][A-Za-z0-9_]*=/.test(text))) continue;
    lineFrom(i);
    const name = text.slice(text.lastIndexOf('/') + 1);
    if (EVALUATORS.has(name) || /^(python|perl|ruby|php|lua)[\d.]*$/.test(name)) {
      flag(`${name} runs code the policy cannot read`);
    }
    // `stty -echo`, `stty size` leave the reading of lines alone; special characters and input
    // modes (`stty erase x`, `stty -icanon`) do not.
    const sttyShows = name === 'stty' && words.slice(i + 1).every((w) => STTY_OUTPUT_ONLY.test(w.text));
    // vi editing mode opens an editor on a key (`ESC v`) and runs what is saved there.
    const editingMode = name === 'set' && words.some((w) => w.text === 'vi');
    // env -S splits one argument into a command line by rules of its own (`env -S'rm -rf /'`).
    if (name === 'env' && words.slice(i + 1).some((w) => /^(?:-[A-Za-z]*S|--split-string)/.test(w.text))) {
      flag('env -S runs a command line the policy cannot read');
    }
    // mapfile -C runs its callback text as a command for every few lines read.
    if (
      (name === 'mapfile' || name === 'readarray') &&
      words.slice(i + 1).some((w) => /^-[A-Za-z]*C/.test(w.text))
    ) {
      flag(`${name} -C runs code the policy cannot read`);
    }
    if ((STATE_CHANGERS.has(name) && !sttyShows) || editingMode) {
      flag(`${name} changes how the shell reads or runs later lines`);
    }
    if (WRAPPERS.has(name)) wrapped = true;
    else if (!wrapped) break;
  }
  return lines;
}
