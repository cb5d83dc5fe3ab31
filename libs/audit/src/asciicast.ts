/**
 * asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/), the format SSH shells are recorded
 * in: a JSON header line, then one JSON array per event, `[seconds, code, data]`. No I/O here: the
 * writer returns lines for the caller to append, the reader parses text it is given.
 */

export interface AsciicastHeader {
  readonly version: 2;
  readonly width: number;
  readonly height: number;
  /** Unix time (seconds) the recording started. */
  readonly timestamp?: number;
  readonly duration?: number;
  readonly idle_time_limit?: number;
  readonly command?: string;
  readonly title?: string;
  readonly env?: Readonly<Record<string, string>>;
}

/** `o` output, `i` input, `r` resize (`COLSxROWS`), `m` marker. */
export type AsciicastCode = 'o' | 'i' | 'r' | 'm';

export interface AsciicastEvent {
  /** Seconds since the start of the recording. */
  readonly time: number;
  readonly code: AsciicastCode;
  readonly data: string;
}

const CODES: readonly string[] = ['o', 'i', 'r', 'm'];

/** Memory for a line of `size` bytes at most (Node's Buffer.allocUnsafe skips the zero fill). */
export type Allocate = (size: number) => Uint8Array;
const newBytes: Allocate = (size) => new Uint8Array(size);

/**
 * Produces the lines of a recording. Terminal data arrives as bytes split at arbitrary places; a
 * UTF-8 sequence cut between two chunks is held back until it is complete, so no character is
 * mangled. Times are given by the caller (seconds since the start) and never go backwards in the
 * output, as players require.
 */
export class AsciicastWriter {
  private readonly decoders = { o: new TextDecoder('utf-8'), i: new TextDecoder('utf-8') };
  private lastTime = 0;

  constructor(private readonly header: Omit<AsciicastHeader, 'version'>) {
    if (!isPositiveInteger(header.width) || !isPositiveInteger(header.height)) {
      throw new RangeError('asciicast width and height must be positive integers');
    }
  }

  /** The first line of the file. */
  headerLine(): string {
    return `${JSON.stringify({ version: 2, ...this.header })}\n`;
  }

  /** Terminal output at `time` seconds; null when the bytes only started a character. */
  output(time: number, data: string | Uint8Array): string | null {
    return this.stream('o', time, data);
  }

  /**
   * The line `output` would return, as its UTF-8 bytes, made without building the JSON text as a
   * string first (what a recorder stores and sends is bytes; see jsonStringUtf8).
   */
  outputBytes(time: number, data: string | Uint8Array, allocate: Allocate = newBytes): Uint8Array | null {
    return this.streamBytes('o', time, data, allocate);
  }

  /** The line `input` would return, as its UTF-8 bytes. */
  inputBytes(time: number, data: string | Uint8Array, allocate: Allocate = newBytes): Uint8Array | null {
    return this.streamBytes('i', time, data, allocate);
  }

  /** Keyboard input at `time` seconds; null when the bytes only started a character. */
  input(time: number, data: string | Uint8Array): string | null {
    return this.stream('i', time, data);
  }

  resize(time: number, columns: number, rows: number): string {
    if (!isPositiveInteger(columns) || !isPositiveInteger(rows)) {
      throw new RangeError('terminal size must be positive integers');
    }
    return this.line(time, 'r', `${columns}x${rows}`);
  }

  marker(time: number, label = ''): string {
    return this.line(time, 'm', label);
  }

  /** At the end of the recording: whatever incomplete characters were held back, as U+FFFD. */
  flush(time: number): string[] {
    const lines: string[] = [];
    for (const code of ['o', 'i'] as const) {
      const rest = this.decoders[code].decode();
      if (rest !== '') lines.push(this.line(time, code, rest));
    }
    return lines;
  }

  private stream(code: 'o' | 'i', time: number, data: string | Uint8Array): string | null {
    const text = typeof data === 'string' ? data : this.decoders[code].decode(data, { stream: true });
    return text === '' ? null : this.line(time, code, text);
  }

  private streamBytes(
    code: 'o' | 'i',
    time: number,
    data: string | Uint8Array,
    allocate: Allocate,
  ): Uint8Array | null {
    const text = typeof data === 'string' ? data : this.decoders[code].decode(data, { stream: true });
    if (text === '') return null;
    const head = `[${this.seconds(time)},"${code}",`;
    const line = allocate(head.length + maxJsonStringUtf8(text) + 2);
    // The head is ASCII (a number and the code).
    for (let i = 0; i < head.length; i++) line[i] = head.charCodeAt(i);
    let at = jsonStringUtf8(text, line, head.length);
    line[at++] = 0x5d; // ]
    line[at++] = 0x0a; // \n
    return line.subarray(0, at);
  }

  private line(time: number, code: AsciicastCode, data: string): string {
    return `${JSON.stringify([this.seconds(time), code, data])}\n`;
  }

  /** The event's time as written: never before the last one, microsecond precision (as asciinema). */
  private seconds(time: number): number {
    if (!Number.isFinite(time)) throw new RangeError('event time must be a finite number of seconds');
    this.lastTime = Math.max(this.lastTime, time);
    return Math.round(this.lastTime * 1e6) / 1e6;
  }
}

/** The most bytes jsonStringUtf8 writes for `text` (a `\u00XX` escape is 6 bytes per code unit). */
export function maxJsonStringUtf8(text: string): number {
  return text.length * 6 + 2;
}

const HEX = '0123456789abcdef';
/** The two-character escapes JSON.stringify uses; other control characters become \u00XX. */
const SHORT_ESCAPES: Readonly<Record<number, number>> = {
  0x08: 0x62, // \b
  0x09: 0x74, // \t
  0x0a: 0x6e, // \n
  0x0c: 0x66, // \f
  0x0d: 0x72, // \r
};

/**
 * Writes `text` as a JSON string literal (quotes included) in UTF-8 into `out` at `at` and returns
 * where it ended: the same bytes as `Buffer.from(JSON.stringify(text))`, lone surrogates escaped as
 * JSON.stringify escapes them. Terminal output can be mostly control characters (a binary file
 * sent to the terminal is mostly NULs, six bytes each in JSON); JSON.stringify and then encoding
 * that string cost several times this. `out` must have maxJsonStringUtf8(text) bytes from `at`.
 */
export function jsonStringUtf8(text: string, out: Uint8Array, at: number): number {
  out[at++] = 0x22;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x20 && c < 0x80) {
      if (c === 0x22 || c === 0x5c) out[at++] = 0x5c;
      out[at++] = c;
    } else if (c < 0x20) {
      const short = SHORT_ESCAPES[c];
      if (short === undefined) at = unicodeEscape(c, out, at);
      else {
        out[at++] = 0x5c;
        out[at++] = short;
      }
    } else if (c < 0x800) {
      out[at++] = 0xc0 | (c >> 6);
      out[at++] = 0x80 | (c & 0x3f);
    } else if (c < 0xd800 || c > 0xdfff) {
      out[at++] = 0xe0 | (c >> 12);
      out[at++] = 0x80 | ((c >> 6) & 0x3f);
      out[at++] = 0x80 | (c & 0x3f);
    } else {
      const next = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const point = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out[at++] = 0xf0 | (point >> 18);
        out[at++] = 0x80 | ((point >> 12) & 0x3f);
        out[at++] = 0x80 | ((point >> 6) & 0x3f);
        out[at++] = 0x80 | (point & 0x3f);
        i++;
      } else {
        // A lone surrogate: escaped, as JSON.stringify does (well-formed JSON.stringify).
        at = unicodeEscape(c, out, at);
      }
    }
  }
  out[at++] = 0x22;
  return at;
}

function unicodeEscape(code: number, out: Uint8Array, at: number): number {
  out[at++] = 0x5c; // \
  out[at++] = 0x75; // u
  out[at++] = HEX.charCodeAt((code >> 12) & 15);
  out[at++] = HEX.charCodeAt((code >> 8) & 15);
  out[at++] = HEX.charCodeAt((code >> 4) & 15);
  out[at++] = HEX.charCodeAt(code & 15);
  return at;
}

export type AsciicastParseResult =
  | { readonly ok: true; readonly header: AsciicastHeader; readonly events: readonly AsciicastEvent[] }
  | { readonly ok: false; readonly line: number; readonly message: string };

/** Parses a whole recording. Errors name the 1-based line. Blank lines (a trailing newline) are skipped. */
export function parseAsciicast(text: string): AsciicastParseResult {
  const lines = text.split('\n');
  const headerText = lines[0] ?? '';
  const header = parseHeader(headerText);
  if (typeof header === 'string') return { ok: false, line: 1, message: header };
  const events: AsciicastEvent[] = [];
  let last = 0;
  for (let i = 1; i < lines.length; i++) {
    const raw = lines[i]!;
    if (raw.trim() === '') continue;
    const event = parseAsciicastEvent(raw);
    if (typeof event === 'string') return { ok: false, line: i + 1, message: event };
    if (event.time < last) return { ok: false, line: i + 1, message: `time ${event.time} goes backwards` };
    last = event.time;
    events.push(event);
  }
  return { ok: true, header, events };
}

function parseHeader(text: string): AsciicastHeader | string {
  const value = parseJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'header is not a JSON object';
  const h = value as Record<string, unknown>;
  if (h['version'] !== 2) return `unsupported version ${JSON.stringify(h['version'])}; expected 2`;
  if (!isPositiveInteger(h['width']) || !isPositiveInteger(h['height'])) {
    return 'header width and height must be positive integers';
  }
  return h as unknown as AsciicastHeader;
}

/** Parses one event line; returns the reason as a string when it is not a valid event. */
export function parseAsciicastEvent(line: string): AsciicastEvent | string {
  const value = parseJson(line);
  if (!Array.isArray(value) || value.length !== 3) return 'event is not a [time, code, data] array';
  const [time, code, data] = value as unknown[];
  if (typeof time !== 'number' || !Number.isFinite(time) || time < 0)
    return 'event time is not a non-negative number';
  if (typeof code !== 'string' || !CODES.includes(code)) return `unknown event code ${JSON.stringify(code)}`;
  if (typeof data !== 'string') return 'event data is not a string';
  return { time, code: code as AsciicastCode, data };
}

/** The terminal output of a recording up to `until` seconds, e.g. for search or a text transcript. */
export function asciicastOutput(events: readonly AsciicastEvent[], until = Infinity): string {
  return events
    .filter((e) => e.code === 'o' && e.time <= until)
    .map((e) => e.data)
    .join('');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}
