import { AsciicastWriter, type AsciicastHeader } from './asciicast';

/**
 * What an engine calls while a terminal-like stream runs (an SSH shell or exec, a Kubernetes exec):
 * bytes as they pass, window changes, and the end. Protocol-neutral; the engine decodes its own
 * protocol and hands over the terminal's bytes.
 */
export interface TerminalRecording {
  /** What the program printed (stdout and stderr as the terminal shows them). */
  onOutput(bytes: Uint8Array | string): void;
  /** What the user typed (keystrokes, pasted text, a stdin stream). */
  onInput(bytes: Uint8Array | string): void;
  onResize(columns: number, rows: number): void;
  /** The stream ended: the rest is sent and the recording closed. Later calls are ignored. */
  end(): void;
}

/** One piece of a recording, whole asciicast lines (the first starts with the header line). */
export interface RecordingChunkOut {
  readonly seq: number;
  /** The lines' UTF-8 text. */
  readonly data: Buffer;
  /** The recording is complete. */
  readonly final: boolean;
  /** The size limit was reached: what followed was not recorded. */
  readonly truncated: boolean;
}

export interface TerminalRecorderOptions {
  readonly header: Omit<AsciicastHeader, 'version' | 'timestamp'>;
  /** Largest recording in bytes of asciicast text; beyond it a marker says so and recording stops. */
  readonly maxBytes: number;
  /** A chunk is sent when this much is buffered (default 64 KiB)... */
  readonly chunkBytes?: number;
  /** ...or this long after its first line (default 250 ms), so a live session is stored as it goes. */
  readonly flushMs?: number;
  /** Milliseconds since the epoch (tests pass their own clock). */
  readonly now?: () => number;
}

/**
 * Makes an asciicast v2 recording of a terminal stream and hands it to `send` in chunks of whole
 * lines. Bounded: at `maxBytes` the recording ends with a marker event (`m`, "recording truncated")
 * and later bytes are not recorded (the stream itself runs on; the truncation is in the recording
 * and its chunk's `truncated` flag). Memory is bounded by one chunk.
 */
export class TerminalRecorder implements TerminalRecording {
  private readonly writer: AsciicastWriter;
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly chunkBytes: number;
  private readonly flushMs: number;
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private totalBytes = 0;
  private seq = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private state: 'recording' | 'truncated' | 'ended' = 'recording';

  constructor(
    private readonly options: TerminalRecorderOptions,
    private readonly send: (chunk: RecordingChunkOut) => void,
  ) {
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.chunkBytes = options.chunkBytes ?? 64 * 1024;
    this.flushMs = options.flushMs ?? 250;
    this.writer = new AsciicastWriter({
      ...options.header,
      timestamp: Math.floor(this.startedAt / 1000),
    });
    this.add(Buffer.from(this.writer.headerLine()));
  }

  /** Bytes of asciicast text recorded so far. */
  get size(): number {
    return this.totalBytes;
  }

  onOutput(bytes: Uint8Array | string): void {
    if (this.state === 'recording') this.add(this.writer.outputBytes(this.elapsed(), bytes, allocateLine));
  }

  onInput(bytes: Uint8Array | string): void {
    if (this.state === 'recording') this.add(this.writer.inputBytes(this.elapsed(), bytes, allocateLine));
  }

  onResize(columns: number, rows: number): void {
    if (this.state !== 'recording' || !(columns > 0 && rows > 0)) return;
    this.add(Buffer.from(this.writer.resize(this.elapsed(), Math.floor(columns), Math.floor(rows))));
  }

  end(): void {
    // A truncated recording was already sent whole, with its final chunk.
    if (this.state !== 'recording') {
      this.state = 'ended';
      return;
    }
    for (const line of this.writer.flush(this.elapsed())) this.add(Buffer.from(line));
    if (this.state !== 'recording') return;
    this.state = 'ended';
    this.flush(true, false);
  }

  private elapsed(): number {
    return (this.now() - this.startedAt) / 1000;
  }

  private add(line: Uint8Array | null): void {
    if (line === null) return;
    const bytes = line.length;
    if (this.totalBytes + bytes > this.options.maxBytes && this.totalBytes > 0) {
      const marker = Buffer.from(
        this.writer.marker(
          this.elapsed(),
          `recording truncated: the limit of ${this.options.maxBytes} bytes was reached`,
        ),
      );
      this.push(marker, marker.length);
      this.state = 'truncated';
      this.flush(true, true);
      return;
    }
    this.push(line, bytes);
    if (this.bufferedBytes >= this.chunkBytes) this.flush(false, false);
    else this.timer ??= unref(setTimeout(() => this.flush(false, false), this.flushMs));
  }

  private push(line: Uint8Array, bytes: number): void {
    this.buffered.push(line);
    this.bufferedBytes += bytes;
    this.totalBytes += bytes;
  }

  private flush(final: boolean, truncated: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffered.length === 0 && !final) return;
    const data = Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    this.send({ seq: this.seq++, data, final, truncated });
  }
}

/** A line's memory: not zero-filled (every byte of what is kept is written). */
function allocateLine(size: number): Buffer {
  return Buffer.allocUnsafe(size);
}

function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
