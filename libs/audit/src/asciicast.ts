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

  private line(time: number, code: AsciicastCode, data: string): string {
    if (!Number.isFinite(time)) throw new RangeError('event time must be a finite number of seconds');
    this.lastTime = Math.max(this.lastTime, time);
    // Microsecond precision, as asciinema writes.
    const seconds = Math.round(this.lastTime * 1e6) / 1e6;
    return `${JSON.stringify([seconds, code, data])}\n`;
  }
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
