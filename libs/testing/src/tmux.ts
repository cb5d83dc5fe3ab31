import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { makeTempDir } from './temp-dir';

/** A tmux server of a test's own (its own socket), to drive interactive programs as a user would. */
export interface TmuxServer {
  /** Starts `command` (a shell command line) in a new detached window of the given size. */
  open(
    name: string,
    command: string,
    size: { columns: number; rows: number },
    env?: Record<string, string>,
  ): void;
  /** Types into a window: literal text, or tmux key names with `keys` (Enter, C-c). */
  type(name: string, text: string): void;
  keys(name: string, ...keys: string[]): void;
  /** The visible screen, lines with trailing blanks removed, trailing empty lines dropped. */
  screen(name: string): string;
  /** Copies everything the window's program prints from now on, raw, to a file (returns its path). */
  pipe(name: string): string;
  resize(name: string, size: { columns: number; rows: number }): void;
  stop(): void;
}

export function startTmux(): TmuxServer {
  const dir = makeTempDir('tollgate-tmux-');
  const socket = join(dir.path, 'socket');
  const tmux = (...args: string[]) =>
    execFileSync('tmux', ['-S', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  return {
    open: (name, command, size, env = {}) => {
      tmux(
        'new-session',
        '-d',
        '-s',
        name,
        '-x',
        String(size.columns),
        '-y',
        String(size.rows),
        ...Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
        command,
      );
      // The window keeps the size it was given, whatever clients attach (none do).
      tmux('set-option', '-t', name, 'window-size', 'manual');
    },
    // tmux reads an argument that ends in `;` as the end of a command: escaped, it is typed.
    type: (name, text) => void tmux('send-keys', '-t', name, '-l', text.replace(/;$/, '\\;')),
    keys: (name, ...keys) => void tmux('send-keys', '-t', name, ...keys),
    screen: (name) =>
      tmux('capture-pane', '-p', '-t', name)
        .split('\n')
        .map((line) => line.trimEnd())
        .join('\n')
        .replace(/\n+$/, ''),
    pipe: (name) => {
      const file = join(dir.path, `${name}.raw`);
      tmux('pipe-pane', '-o', '-t', name, `cat >> ${file}`);
      return file;
    },
    resize: (name, size) =>
      void tmux('resize-window', '-t', name, '-x', String(size.columns), '-y', String(size.rows)),
    stop: () => {
      try {
        tmux('kill-server');
      } catch {
        // Already gone.
      }
      dir.remove();
    },
  };
}

/** One program on a terminal of its own (a tmux window), typed into and read as a user would. */
export interface Terminal {
  /** Types a line and Enter. */
  line(text: string): void;
  /** The visible screen (see TmuxServer.screen). */
  screen(): string;
  stop(): void;
}

/** Starts `command` on a terminal of its own, wide enough that a long line does not wrap. */
export function openTerminal(command: string, size = { columns: 400, rows: 50 }): Terminal {
  const tmux = startTmux();
  tmux.open('main', command, size);
  return {
    line: (text) => {
      tmux.type('main', text);
      tmux.keys('main', 'Enter');
    },
    screen: () => tmux.screen('main'),
    stop: () => tmux.stop(),
  };
}
