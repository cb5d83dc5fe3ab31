/**
 * Enough of a VT100/xterm screen to replay a shell recording: printable text with wrapping,
 * CR/LF/BS/TAB, cursor movement, erase in line and display, scrolling. Colours and modes are
 * ignored; escape sequences split across writes are kept whole.
 */
export class TerminalScreen {
  private grid: string[][];
  private row = 0;
  private col = 0;
  private pending = '';

  constructor(
    readonly cols: number,
    readonly rows: number,
  ) {
    this.grid = Array.from({ length: rows }, () => this.blankLine());
  }

  write(data: string): void {
    const text = this.pending + data;
    this.pending = '';
    let i = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === '\x1b') {
        const consumed = this.escape(text, i);
        if (consumed === 0) {
          this.pending = text.slice(i);
          return;
        }
        i += consumed;
        continue;
      }
      i++;
      switch (ch) {
        case '\r':
          this.col = 0;
          break;
        case '\n':
          this.lineFeed();
          break;
        case '\b':
          this.col = Math.max(0, this.col - 1);
          break;
        case '\t':
          this.col = Math.min(this.cols - 1, (Math.floor(this.col / 8) + 1) * 8);
          break;
        default:
          if (ch >= ' ' && ch !== '\x7f') this.put(ch);
      }
    }
  }

  /** The screen's text, trailing blanks removed. */
  text(): string {
    const lines = this.grid.map((line) => line.join('').replace(/\s+$/, ''));
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }

  private put(ch: string): void {
    if (this.col >= this.cols) {
      this.col = 0;
      this.lineFeed();
    }
    this.grid[this.row]![this.col] = ch;
    this.col++;
  }

  private lineFeed(): void {
    if (this.row < this.rows - 1) this.row++;
    else {
      this.grid.shift();
      this.grid.push(this.blankLine());
    }
  }

  private blankLine(): string[] {
    return Array.from({ length: this.cols }, () => ' ');
  }

  /** Handles the escape sequence at `start`; returns its length, or 0 when it is not complete yet. */
  private escape(text: string, start: number): number {
    const next = text[start + 1];
    if (next === undefined) return 0;
    if (next === '[') {
      let end = start + 2;
      while (end < text.length && !/[@-~]/.test(text[end]!)) end++;
      if (end >= text.length) return 0;
      this.csi(text.slice(start + 2, end), text[end]!);
      return end - start + 1;
    }
    if (next === ']') {
      // OSC (window title and the like): up to BEL or ESC \.
      for (let end = start + 2; end < text.length; end++) {
        if (text[end] === '\x07') return end - start + 1;
        if (text[end] === '\x1b' && text[end + 1] === '\\') return end - start + 2;
      }
      return 0;
    }
    if (next === '(' || next === ')') return text.length > start + 2 ? 3 : 0;
    return 2;
  }

  private csi(params: string, final: string): void {
    const numbers = params
      .replace(/^[?>=]/, '')
      .split(';')
      .map((p) => (p === '' ? NaN : Number(p)));
    const n = (index: number, fallback: number) => {
      const value = numbers[index];
      return value === undefined || Number.isNaN(value) ? fallback : value;
    };
    const clampRow = (r: number) => Math.min(this.rows - 1, Math.max(0, r));
    const clampCol = (c: number) => Math.min(this.cols - 1, Math.max(0, c));
    switch (final) {
      case 'A':
        this.row = clampRow(this.row - n(0, 1));
        break;
      case 'B':
        this.row = clampRow(this.row + n(0, 1));
        break;
      case 'C':
        this.col = clampCol(this.col + n(0, 1));
        break;
      case 'D':
        this.col = clampCol(this.col - n(0, 1));
        break;
      case 'G':
        this.col = clampCol(n(0, 1) - 1);
        break;
      case 'd':
        this.row = clampRow(n(0, 1) - 1);
        break;
      case 'H':
      case 'f':
        this.row = clampRow(n(0, 1) - 1);
        this.col = clampCol(n(1, 1) - 1);
        break;
      case 'K': {
        const line = this.grid[this.row]!;
        const mode = n(0, 0);
        const [from, to] =
          mode === 0 ? [this.col, this.cols] : mode === 1 ? [0, this.col + 1] : [0, this.cols];
        for (let c = from; c < to; c++) line[c] = ' ';
        break;
      }
      case 'J': {
        const mode = n(0, 0);
        if (mode === 2 || mode === 3) this.grid = Array.from({ length: this.rows }, () => this.blankLine());
        else if (mode === 0) {
          this.csi('0', 'K');
          for (let r = this.row + 1; r < this.rows; r++) this.grid[r] = this.blankLine();
        } else if (mode === 1) {
          this.csi('1', 'K');
          for (let r = 0; r < this.row; r++) this.grid[r] = this.blankLine();
        }
        break;
      }
      default:
        // Colours (m), modes (h/l), scroll regions and the rest do not change the text.
        break;
    }
  }
}
