import { readShellCommand } from '@tollgate/policy';
import type { Verdict } from '../bridge/session-bridge';
import { blankLine, MAX_LINE, ShellLineReader, type ShellLine } from './shell-line-reader';

/** Ctrl-U: a shell in cooked mode (and readline) discards the line typed so far. */
const KILL_LINE = Buffer.from([0x15]);
const CTRL_X = 0x18;
/** Ctrl-C: abandons a command the shell is still reading over several lines. */
const INTERRUPT = Buffer.from([0x03]);

/**
 * Holds each Enter a user types into a PTY shell until the line it ends is decided (and recorded):
 * the keys before it are passed on at once (the shell echoes them), the Enter itself only when the
 * line is allowed. A refused line is discarded at the target with Ctrl-U and the reason is shown.
 * Empty lines pass without a decision, unless editing keys were typed into them.
 */
export class ShellInputGate {
  private readonly reader = new ShellLineReader();
  private queue: Promise<void> = Promise.resolve();
  /** Lines the shell holds without running them yet (an open quote, a trailing backslash). */
  private continued = '';

  constructor(
    private readonly decide: (line: ShellLine) => Promise<Verdict>,
    private readonly refused: (message: string) => void,
  ) {}

  /** An input hook for joinChannels: returns true (holding the input) while lines are decided. */
  input(input: Buffer, write: (bytes: Buffer) => void, release: () => void): boolean {
    // Ctrl-X starts readline's chords, one of which (Ctrl-X Ctrl-E) opens an editor at once and runs
    // what is saved there when it closes: no Enter of a line to decide. It never reaches the target.
    const chunk = input.includes(CTRL_X) ? Buffer.from(input.filter((byte) => byte !== CTRL_X)) : input;
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
        // A line the agent would have to hold without bound is refused whole, as a shell without
        // a PTY refuses one (MAX_SCRIPT_LINE), before policy or the audit gets it.
        if (line.tooLong || this.continued.length + line.text.length > MAX_LINE) {
          write(this.continued ? INTERRUPT : KILL_LINE);
          this.continued = '';
          this.refused(`a line longer than ${MAX_LINE} characters was refused`);
          continue;
        }
        // A command continued over several lines is decided whole, as the shell will run it.
        const text = this.continued ? `${this.continued}\n${line.text}` : line.text;
        const reading = readShellCommand(text);
        // Only a line nothing but spaces were typed into is empty at the shell too: one that looks
        // empty after editing keys may hold what the shell recalled (Up), completed (Tab) or yanked
        // back (Ctrl-Y: the line the gate just discarded with Ctrl-U is in readline's kill ring).
        if (blankLine(text) && line.uncertain === undefined) {
          write(enter);
          continue;
        }
        const uncertain = line.uncertain ?? reading.ambiguous;
        // What such a line holds is not known here: its record says so rather than show nothing.
        const decided = blankLine(text) ? `<a line recalled or edited at the shell>` : text;
        const verdict = await this.decide(uncertain ? { text: decided, uncertain } : { text: decided }).catch(
          (error: unknown): Verdict => ({
            allow: false,
            message: error instanceof Error ? error.message : String(error),
          }),
        );
        if (verdict.allow) {
          write(enter);
          this.continued = reading.incomplete ? text : '';
        } else {
          write(this.continued ? INTERRUPT : KILL_LINE);
          this.continued = '';
          this.refused(verdict.message);
        }
      }
      if (offset < chunk.length) write(chunk.subarray(offset));
      release();
    });
    return true;
  }
}
