import { readShellCommand } from '@tollgate/policy';
import type { Verdict } from '../bridge/session-bridge';
import { blankLine, type ShellLine } from './shell-line-reader';

/** The longest line held for a decision; a longer one is refused (its bytes never reach the shell). */
export const MAX_SCRIPT_LINE = 64 * 1024;

/**
 * Gates a shell that has no PTY (`ssh -T`, `echo cmd | ssh host`): the shell reads its stdin as a
 * script, with no line editing, so each line is held until it is decided and only then written; a
 * refused line never reaches the shell. A command spread over several lines (an open quote, a
 * trailing backslash) is held whole and decided as one. What is left at the client's EOF is decided
 * too (a shell runs a last line without a newline).
 */
export class ShellScriptGate {
  private held = Buffer.alloc(0);
  private overflow = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly decide: (line: ShellLine) => Promise<Verdict>,
    private readonly refused: (message: string) => void,
  ) {}

  input(chunk: Buffer, write: (bytes: Buffer) => void, release: () => void): boolean {
    const commands: Buffer[] = [];
    let start = 0;
    for (let i = chunk.indexOf(0x0a); i >= 0; i = chunk.indexOf(0x0a, start)) {
      this.take(chunk.subarray(start, i + 1), commands);
      start = i + 1;
    }
    this.hold(chunk.subarray(start));
    this.queue = this.queue.then(async () => {
      for (const command of commands) await this.pass(command, write);
      release();
    });
    return true;
  }

  /** At the client's EOF: decides what is still held, then lets the EOF through. */
  end(write: (bytes: Buffer) => void): Promise<void> {
    const rest = this.held;
    this.held = Buffer.alloc(0);
    this.queue = this.queue.then(() =>
      rest.length > 0 && !this.overflow ? this.pass(rest, write) : undefined,
    );
    return this.queue;
  }

  private hold(bytes: Buffer): void {
    if (this.overflow) return;
    this.held = Buffer.concat([this.held, bytes]);
    if (this.held.length > MAX_SCRIPT_LINE) {
      this.overflow = true;
      this.held = Buffer.alloc(0);
      this.refused(`a line longer than ${MAX_SCRIPT_LINE} bytes was refused`);
    }
  }

  /** A line ended: it joins what is held; the whole is passed on once the shell would run it. */
  private take(line: Buffer, commands: Buffer[]): void {
    if (this.overflow) {
      this.overflow = false;
      return;
    }
    this.hold(line);
    if (this.overflow) return;
    if (readShellCommand(this.held.toString('utf8').replace(/\n$/, '')).incomplete) return;
    commands.push(this.held);
    this.held = Buffer.alloc(0);
  }

  private async pass(command: Buffer, write: (bytes: Buffer) => void): Promise<void> {
    const text = command.toString('utf8').replace(/\n$/, '');
    if (blankLine(text)) return write(command);
    const verdict = await this.decide({ text }).catch((error: unknown): Verdict => ({
      allow: false,
      message: error instanceof Error ? error.message : String(error),
    }));
    if (verdict.allow) write(command);
    else this.refused(verdict.message);
  }
}
