import type { Verdict } from '../bridge/session-bridge';
import { ShellLineReader, type ShellLine } from './shell-line-reader';

/** Ctrl-U: a shell in cooked mode (and readline) discards the line typed so far. */
const KILL_LINE = Buffer.from([0x15]);

/**
 * Holds each Enter a user types into a PTY shell until the line it ends is decided (and recorded):
 * the keys before it are passed on at once (the shell echoes them), the Enter itself only when the
 * line is allowed. A refused line is discarded at the target with Ctrl-U and the reason is shown.
 * Empty lines pass without a decision.
 */
export class ShellInputGate {
  private readonly reader = new ShellLineReader();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly decide: (line: ShellLine) => Promise<Verdict>,
    private readonly refused: (message: string) => void,
  ) {}

  /** An input hook for joinChannels: returns true (holding the input) while lines are decided. */
  input(chunk: Buffer, write: (bytes: Buffer) => void, release: () => void): boolean {
    const lines = this.reader.feed(chunk);
    if (lines.length === 0) {
      write(chunk);
      return false;
    }
    this.queue = this.queue.then(async () => {
      let offset = 0;
      for (const { end, line } of lines) {
        // The bytes before the Enter (the rest of the line as typed) go first.
        if (end - 1 > offset) write(chunk.subarray(offset, end - 1));
        const enter = chunk.subarray(end - 1, end);
        offset = end;
        if (line.text.trim() === '') {
          write(enter);
          continue;
        }
        const verdict = await this.decide(line).catch((error: unknown): Verdict => ({
          allow: false,
          message: error instanceof Error ? error.message : String(error),
        }));
        if (verdict.allow) {
          write(enter);
        } else {
          write(KILL_LINE);
          this.refused(verdict.message);
        }
      }
      if (offset < chunk.length) write(chunk.subarray(offset));
      release();
    });
    return true;
  }
}
