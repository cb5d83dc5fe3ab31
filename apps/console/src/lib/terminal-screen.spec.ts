import { describe, expect, it } from 'vitest';
import { TerminalScreen } from './terminal-screen';

describe('the terminal screen of the recording player', () => {
  it('prints lines, returns and backspaces like a terminal', () => {
    const screen = new TerminalScreen(20, 5);
    screen.write('$ ls\r\nfile-a  file-b\r\n$ echo hx\bi\r\n');
    expect(screen.text()).toBe('$ ls\nfile-a  file-b\n$ echo hi');
  });

  it('ignores colours and keeps an escape sequence split across writes', () => {
    const screen = new TerminalScreen(20, 3);
    screen.write('\x1b[1;3');
    screen.write('1mred\x1b[0m plain\x1b]0;title\x07');
    expect(screen.text()).toBe('red plain');
  });

  it('wraps long lines and scrolls at the bottom', () => {
    const screen = new TerminalScreen(4, 2);
    screen.write('abcdefgh\r\nij');
    expect(screen.text()).toBe('efgh\nij');
  });

  it('moves the cursor and erases (a prompt redrawn, a cleared screen)', () => {
    const screen = new TerminalScreen(10, 3);
    screen.write('hello\x1b[3Dy\x1b[K');
    expect(screen.text()).toBe('hey');
    screen.write('\x1b[2J\x1b[2;3Hx');
    expect(screen.text()).toBe('\n  x');
  });

  it('never throws on arbitrary input', () => {
    const screen = new TerminalScreen(8, 4);
    for (let i = 0; i < 2000; i++) {
      const bytes = Array.from({ length: 1 + (i % 17) }, (_, j) =>
        String.fromCharCode((i * 31 + j * 7) % 128),
      );
      screen.write(bytes.join(''));
    }
    expect(screen.text().split('\n').length).toBeLessThanOrEqual(4);
  });
});
