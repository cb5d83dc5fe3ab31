import { describe, expect, it } from 'vitest';
import { MAX_LINE } from './shell-line-reader';
import { ShellInputGate } from './shell-input-gate';

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
});
