import { describe, expect, it } from 'vitest';
import { MAX_LINE } from './shell-line-reader';
import { ShellInputGate } from './shell-input-gate';
import { ShellScriptGate } from './shell-script-gate';

describe('ShellInputGate', () => {
  it('refuses a line (or a command continued over lines) longer than the script limit without asking policy, and holds no more of it', async () => {
    const decided: string[] = [];
    const refused: string[] = [];
    const written: Buffer[] = [];
    const gate = new ShellInputGate(
      (line) => {
        decided.push(line.text);
        return Promise.resolve({ allow: true });
      },
      (message) => refused.push(message),
    );
    const type = (text: string) =>
      new Promise<void>((release) => {
        if (!gate.input(Buffer.from(text), (b) => written.push(b), release)) release();
      });
    // A line of 4 MiB typed in pieces: the agent keeps no more than the limit of it.
    for (let i = 0; i < 64; i++) await type('x'.repeat(64 * 1024));
    await type('\r');
    // An open quote continued over lines until the whole passes the limit.
    await type("echo '\r");
    for (let i = 0; i < 3; i++) await type(`${'y'.repeat(30 * 1024)}\r`);
    await type('echo short\r');
    expect(decided.every((text) => text.length <= MAX_LINE)).toBe(true);
    expect(refused).toEqual([
      `a line longer than ${MAX_LINE} characters was refused`,
      `a line longer than ${MAX_LINE} characters was refused`,
    ]);
    expect(decided.at(-1)).toBe('echo short');
  });

  it('decides a line that looks empty but was edited: a yank of the refused line, history recall, Tab', async () => {
    const decided: { text: string; uncertain?: string }[] = [];
    const written: Buffer[] = [];
    // As policy with a command rule decides: the rule's command and anything uncertain are refused.
    const gate = new ShellInputGate(
      (line) => {
        decided.push(line);
        return Promise.resolve(
          line.uncertain || line.text.startsWith('rm ')
            ? { allow: false, message: 'refused' }
            : { allow: true },
        );
      },
      () => undefined,
    );
    const type = (text: string) =>
      new Promise<void>((release) => {
        if (!gate.input(Buffer.from(text), (b) => written.push(b), release)) release();
      });
    await type('rm -rf /data\r'); // refused: the gate discards it with Ctrl-U (readline's kill ring)
    // Ctrl-Y yanks the discarded line back; Up recalls an earlier one; Tab completes a word.
    for (const keys of ['\x19\r', '\x1b[A\r', '\t\r']) {
      written.length = 0;
      await type(keys);
      // The Enter never reaches the shell: what it would run was decided, and refused.
      expect(Buffer.concat(written).includes(0x0d), JSON.stringify(keys)).toBe(false);
    }
    expect(decided.slice(1).map((line) => line.text)).toEqual(
      Array(3).fill('<a line recalled or edited at the shell>'),
    );
    expect(decided.slice(1).every((line) => line.uncertain !== undefined)).toBe(true);
    expect(decided).toHaveLength(4);
    // A line that is really empty still passes without a decision.
    written.length = 0;
    await type('\r');
    expect(Buffer.concat(written).toString()).toBe('\r');
    expect(decided).toHaveLength(4);
  });

  it('passes undecided only lines of spaces and tabs: other blanks are a command name to the shell', async () => {
    // bash splits words on space and tab only: a line of U+00A0, U+3000 or CR runs the program of
    // that name (one planted earlier in PATH), so it is decided and recorded like any command.
    const blanks = ['\u00a0', '\u3000', '\ufeff', '\r', '\v'];
    const decided: string[] = [];
    const decide = (line: { text: string }) => {
      decided.push(line.text);
      return Promise.resolve({ allow: false, message: 'refused' });
    };
    const written: Buffer[] = [];
    const pty = new ShellInputGate(decide, () => undefined);
    for (const blank of ['\u00a0', '\u3000', '\ufeff']) {
      await new Promise<void>((release) => {
        if (!pty.input(Buffer.from(`${blank}\r`), (b) => written.push(b), release)) release();
      });
    }
    expect(decided).toEqual(['\u00a0', '\u3000', '\ufeff']);
    expect(Buffer.concat(written).includes(0x0d)).toBe(false);
    decided.length = 0;
    written.length = 0;
    const script = new ShellScriptGate(decide, () => undefined);
    await new Promise<void>((release) =>
      script.input(Buffer.from(`${blanks.join('\n')}\n \t\n`), (b) => written.push(b), release),
    );
    expect(decided).toEqual(blanks);
    // Only the line of a space and a tab reached the shell.
    expect(Buffer.concat(written).toString()).toBe(' \t\n');
  });
});
