/**
 * Reconstructs the lines a user types into a PTY from the raw keystrokes the client sends, as a
 * line editor in cooked mode would see them: printable text appended, Backspace/DEL removing the
 * last character, Ctrl-U and Ctrl-C discarding the line, Ctrl-W removing the last word. No I/O.
 *
 * What it cannot see is reported, not guessed: cursor keys and other escape sequences (history
 * recall, moving within the line), Tab (completion by the shell) and other control characters mark
 * the line `uncertain`, because the shell's idea of the line may differ from the keys typed. Text a
 * full-screen program (an editor, a pager) receives is read as lines too. Line ends changed with
 * `stty eol` are not known here.
 */
export interface ShellLine {
  readonly text: string;
  /** The line grew past MAX_LINE: its text was dropped as it came (and is empty here). */
  readonly tooLong?: boolean;
  /** Set when editing keys made the reconstruction unreliable; says which. */
  readonly uncertain?: string;
}

const Key = {
  CtrlC: 0x03,
  CtrlD: 0x04,
  CtrlO: 0x0f,
  Backspace: 0x08,
  Tab: 0x09,
  LineFeed: 0x0a,
  CarriageReturn: 0x0d,
  CtrlU: 0x15,
  CtrlW: 0x17,
  Escape: 0x1b,
  Delete: 0x7f,
} as const;

/**
 * A line the shell runs nothing for: spaces and tabs only (and continuation line breaks). The shell
 * splits words on those alone: any other blank (U+00A0, U+3000, a CR) is a command's name to it.
 */
export function blankLine(text: string): boolean {
  return /^[ \t\n]*$/.test(text);
}

/** Characters a line may have (as a shell without a PTY may: MAX_SCRIPT_LINE bytes). */
export const MAX_LINE = 64 * 1024;

export class ShellLineReader {
  private line = '';
  /** The line passed MAX_LINE: what follows is dropped until it ends (or is discarded). */
  private overflow = false;
  private uncertain: string | undefined;
  private escape: 'none' | 'start' | 'csi' = 'none';
  private readonly decoder = new TextDecoder('utf-8');

  /**
   * Feeds keystrokes; returns the offset just past each key that ends a line (CR, LF, Ctrl-O, or
   * Ctrl-D after text) in `bytes` with the line it completed, so a caller can hold that key until the line
   * is decided.
   */
  feed(bytes: Uint8Array): { readonly end: number; readonly line: ShellLine }[] {
    const lines: { end: number; line: ShellLine }[] = [];
    let textStart = -1;
    const flushText = (upTo: number) => {
      if (textStart >= 0) {
        const text = this.decoder.decode(bytes.subarray(textStart, upTo), { stream: true });
        if (!this.overflow && this.line.length + text.length <= MAX_LINE) this.line += text;
        else {
          this.overflow = true;
          this.line = '';
        }
      }
      textStart = -1;
    };
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      // A control character ends an escape sequence (as in a terminal), so none can hide an Enter.
      if (this.escape !== 'none' && byte >= 0x20) {
        this.consumeEscape(byte);
        continue;
      }
      this.escape = 'none';
      if (byte >= 0x20 && byte !== Key.Delete) {
        if (textStart < 0) textStart = i;
        continue;
      }
      flushText(i);
      switch (byte) {
        // bash binds Ctrl-O to operate-and-get-next: it runs the line as Enter does.
        case Key.CarriageReturn:
        case Key.LineFeed:
        case Key.CtrlO:
          lines.push({ end: i + 1, line: this.take() });
          break;
        case Key.CtrlD:
          // In canonical mode Ctrl-D hands a non-empty line to the program without a newline
          // (dash, for one, runs it at the next Ctrl-D): it ends the line here too.
          if (this.line !== '' || this.overflow) lines.push({ end: i + 1, line: this.take() });
          break;
        case Key.Backspace:
        case Key.Delete:
          this.line = [...this.line].slice(0, -1).join('');
          break;
        case Key.CtrlU:
        case Key.CtrlC:
          this.line = '';
          this.uncertain = undefined;
          this.overflow = false;
          break;
        case Key.CtrlW:
          this.line = this.line.replace(/\S*\s*$/, '');
          break;
        case Key.Tab:
          this.line += '\t';
          this.uncertain ??= 'Tab (the shell may have completed the line)';
          break;
        case Key.Escape:
          this.escape = 'start';
          this.uncertain ??= 'cursor or editing keys (history recall, movement within the line)';
          break;
        default:
          this.uncertain ??= `control character 0x${byte.toString(16).padStart(2, '0')}`;
      }
    }
    flushText(bytes.length);
    return lines;
  }

  /** The line typed so far (not yet ended by Enter). */
  get pending(): string {
    return this.line;
  }

  private take(): ShellLine {
    const line: ShellLine = this.overflow
      ? { text: '', tooLong: true }
      : this.uncertain
        ? { text: this.line, uncertain: this.uncertain }
        : { text: this.line };
    this.line = '';
    this.uncertain = undefined;
    this.overflow = false;
    return line;
  }

  /** ESC [ ... final byte (CSI), ESC O x (SS3), or ESC x: skipped whole. */
  private consumeEscape(byte: number): void {
    if (this.escape === 'start') {
      this.escape = byte === 0x5b || byte === 0x4f ? 'csi' : 'none';
      return;
    }
    // CSI parameters and intermediates are 0x20-0x3f; a final byte is 0x40-0x7e.
    if (byte >= 0x40 && byte <= 0x7e) this.escape = 'none';
  }
}
