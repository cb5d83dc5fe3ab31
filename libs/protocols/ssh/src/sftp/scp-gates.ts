import { posix } from 'node:path';
import { readShellCommand } from '@tollgate/policy';
import type { Verdict } from '../bridge/session-bridge';

/** Where an exec of scp's sink (`scp -t PATH`, an upload) writes, or its source (`scp -f PATH`) reads. */
export interface ScpSink {
  /** The path as written (`.`, `dir`, `~/x`, `/abs`); absent when the command line is not read. */
  readonly target?: string;
  /** `-d`: the target must be a directory (several files sent). */
  readonly directory: boolean;
  /** Why the path cannot be read from the command line (decided as unclassified). */
  readonly uncertain?: string;
}

/**
 * The command line OpenSSH's scp sends (`scp [-v] [-d] [-r] [-p] -t [--] PATH`, or `-f` to
 * download), with a path the shell passes as it is (no quotes, variables, globs or other expansions
 * but a leading `~`).
 */
const PLAIN_SCP =
  /^[ \t]*scp((?:[ \t]+-[a-zA-Z0-9]+)*)[ \t]+(?:--[ \t]+)?((?:~\/|~$)?[^\s;&|<>()`$'"\\#*?[\]{}~!]*)[ \t]*$/;

function scpExec(command: string, mode: 't' | 'f'): ScpSink | undefined {
  const plain = PLAIN_SCP.exec(command);
  const flags = plain?.[1]?.split(/[ \t]+/).filter((flag) => flag !== '') ?? [];
  const has = (letter: string) => flags.some((flag) => new RegExp(`^-[a-zA-Z0-9]*${letter}`).test(flag));
  if (plain && plain[2] !== '' && (has('t') || has('f'))) {
    // scp runs as a source when given -f, whatever else it is given.
    if ((mode === 'f') !== has('f')) return undefined;
    return { target: plain[2]!, directory: has('d') };
  }
  const reading = readShellCommand(command);
  const option = new RegExp(`(?:^|[\\s/;&|(\`])scp\\b[^\\n]*\\s-[a-zA-Z0-9]*${mode}`, 'm');
  const runs = [command, reading.dequoted, reading.commands].some((text) => option.test(text));
  const what = mode === 't' ? 'an scp upload (scp -t)' : 'an scp download (scp -f)';
  return runs
    ? { directory: false, uncertain: `${what} whose path the command line does not say plainly` }
    : undefined;
}

/**
 * Whether an exec request runs scp as a sink (`-t`: the files the client sends are written at the
 * target), and where to. Any other command line that runs scp with `-t` (after `cd`, under `sh -c`,
 * with a quoted or expanded path) is a sink whose target is not read.
 */
export function scpSink(command: string): ScpSink | undefined {
  return scpExec(command, 't');
}

/** Whether an exec request runs scp as a source (`-f`: files read at the target), and from where. */
export function scpSource(command: string): ScpSink | undefined {
  return scpExec(command, 'f');
}

/** The largest record line (`C0644 12 name`) read before it is decided; a longer one ends the channel. */
const MAX_RECORD_BYTES = 64 * 1024;

type State = { kind: 'record' } | { kind: 'data'; left: number } | { kind: 'ack' };

/**
 * The SCP protocol's stream in one direction: record lines (`C0644 12 name`, `D0755 0 dir`, `E`,
 * `T...`, `\x01error`), each decided before it is passed on, and the file contents after an accepted
 * `C`, then the byte saying they were sent whole, passed as they are. Contents and partial lines
 * are handled at once (no wait); only a whole record line waits for its decision, and what follows
 * it in the chunk waits with it.
 */
abstract class ScpStream {
  private state: State = { kind: 'record' };
  private line: Buffer[] = [];
  private lineBytes = 0;
  private busy: Promise<void> | undefined;
  private broken = false;

  /** Decides a record line; an accepted `C` record is followed by `size` bytes of contents. */
  protected abstract record(text: string): Promise<Verdict>;

  /**
   * Passes a chunk on: undefined when it was handled at once, else a promise that settles once the
   * record lines in it are decided and the rest passed (no further chunk is fed before it settles).
   * Throws, or rejects, on a stream that is not scp.
   */
  protected feed(
    chunk: Buffer,
    pass: (bytes: Buffer) => void,
    refused: (verdict: Extract<Verdict, { allow: false }>) => void,
  ): Promise<void> | undefined {
    if (this.broken) throw new Error('the scp stream could not be read');
    if (this.busy) {
      const copy = Buffer.from(chunk);
      return (this.busy = this.busy.then(() => this.run(copy, 0, pass, refused)));
    }
    const first = this.step(chunk, 0, pass);
    if (first.line === undefined) return undefined;
    const rest = Buffer.from(chunk.subarray(first.at));
    const line = first.line;
    const running = (async () => {
      await this.decided(line, pass, refused);
      await this.run(rest, 0, pass, refused);
    })();
    const settled: Promise<void> = running.then(
      () => {
        if (this.busy === settled) this.busy = undefined;
      },
      () => {
        this.broken = true;
      },
    );
    this.busy = settled;
    return running;
  }

  private async run(
    chunk: Buffer,
    at: number,
    pass: (bytes: Buffer) => void,
    refused: (verdict: Extract<Verdict, { allow: false }>) => void,
  ): Promise<void> {
    while (at < chunk.length) {
      const next = this.step(chunk, at, pass);
      at = next.at;
      if (next.line !== undefined) await this.decided(next.line, pass, refused);
    }
  }

  private async decided(
    line: Buffer,
    pass: (bytes: Buffer) => void,
    refused: (verdict: Extract<Verdict, { allow: false }>) => void,
  ): Promise<void> {
    const verdict = await this.record(line.toString('utf8').replace(/\n$/, ''));
    if (verdict.allow) pass(line);
    else refused(verdict);
  }

  /** Passes contents and acks from `at`, up to the end of the chunk or of a whole record line. */
  private step(chunk: Buffer, at: number, pass: (bytes: Buffer) => void): { at: number; line?: Buffer } {
    while (at < chunk.length) {
      if (this.state.kind === 'data') {
        const take = Math.min(this.state.left, chunk.length - at);
        pass(chunk.subarray(at, at + take));
        at += take;
        this.state.left -= take;
        if (this.state.left === 0) this.state = { kind: 'ack' };
        continue;
      }
      if (this.state.kind === 'ack' && this.lineBytes === 0 && chunk[at] === 0) {
        // The source's "sent whole" after a file's contents.
        pass(chunk.subarray(at, at + 1));
        at += 1;
        this.state = { kind: 'record' };
        continue;
      }
      const end = chunk.indexOf(0x0a, at);
      const piece = chunk.subarray(at, end < 0 ? chunk.length : end + 1);
      this.lineBytes += piece.length;
      if (this.lineBytes > MAX_RECORD_BYTES) throw new Error('an scp record line is too long');
      this.line.push(Buffer.from(piece));
      at += piece.length;
      if (end < 0) return { at };
      const line = Buffer.concat(this.line);
      this.line = [];
      this.lineBytes = 0;
      this.state = { kind: 'record' };
      return { at, line };
    }
    return { at };
  }

  /** The contents of a file just accepted come next. */
  protected contents(size: number): void {
    this.state = size > 0 ? { kind: 'data', left: size } : { kind: 'ack' };
  }
}

/** A file or directory record; a size past 15 digits (beyond exact numbers here) is not read. */
const RECORD = /^([CD])[0-7]{4} (\d{1,15}) (.+)$/s;

/** The refusal as scp tells an error: `\x01`, the message, a line feed. */
const scpError = (message: string) => Buffer.from(`\x01tollgate: ${message.replace(/\n/g, ' ')}\n`);

/** Where scp's command line points, as the target resolves it; `uncertain` when it may not. */
interface ScpPlace {
  readonly path: string;
  readonly uncertain?: string;
}

/** A `C` or `D` record's decision: refused, or where a directory's records land (`place`). */
type Entry<P> = Exclude<Verdict, { allow: true }> | { readonly allow: true; readonly place: P };

/**
 * The record lines both gates read alike (`\x01`/`\x02` messages, `T` times, `E` leaving a
 * directory, anything else not scp), with each file or directory record's name decided by `entry`
 * against the place scp's command line names, resolved once.
 */
abstract class ScpRecordGate<P> extends ScpStream {
  /** Where the records are: one entry per directory a recursive copy is in. */
  protected readonly places: P[] = [];
  private resolved: Promise<ScpPlace> | undefined;

  constructor(
    protected readonly scp: ScpSink,
    private readonly startDirectory: () => Promise<string | undefined>,
    private readonly decide: (text: string, uncertain?: string) => Promise<Verdict>,
  ) {
    super();
  }

  /** Decides a `C` or `D` record named `name`; `uncertain` says why it may not be what it says. */
  protected abstract entry(name: string, base: ScpPlace, uncertain?: string): Promise<Entry<P>>;

  /** `text` decided; a decision that fails is a refusal. */
  protected decideText(text: string, uncertain?: string): Promise<Verdict> {
    return this.decide(text, uncertain).catch((error: unknown): Verdict => ({
      allow: false,
      message: String(error),
    }));
  }

  protected async record(text: string): Promise<Verdict> {
    const type = text[0];
    if (type === '\x01' || type === '\x02' || type === 'T') return { allow: true };
    if (text === 'E') {
      this.places.pop();
      return { allow: true };
    }
    const record = RECORD.exec(text);
    if (!record) return notRecord(this.scp, text);
    const [, kind, size, name] = record;
    const base = await (this.resolved ??= resolvePlace(this.scp, this.startDirectory));
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u001f\u007f]/.test(name!)
      ? 'control characters in an scp file name'
      : undefined;
    const decided = await this.entry(name!, base, base.uncertain ?? control);
    if (!decided.allow) return decided;
    if (kind === 'D') this.places.push(decided.place);
    else this.contents(Number(size));
    return { allow: true };
  }
}

/**
 * Watches what an scp client sends to `scp -t` (the SCP protocol over an exec, `scp -O`): each file
 * (`C` record) and directory (`D`) is decided before the target's scp sees it, as `<sftp upload
 * PATH>`, the same text an SFTP write is decided as. The sink writes into its target, or into the
 * target as a directory when it is one, which only the target knows: both paths are decided (only the
 * second under `-d`), and a directory's contents under each. A refusal is answered as the sink
 * answers an error (`\x01message`), so the client skips that file or directory and goes on; the
 * target never sees it. A stream that is not the SCP protocol ends the channel.
 */
export class ScpSinkGate extends ScpRecordGate<string[]> {
  constructor(
    sink: ScpSink,
    /** The target's start directory (the login's home), to place a relative target. */
    startDirectory: () => Promise<string | undefined>,
    decide: (text: string, uncertain?: string) => Promise<Verdict>,
    private readonly fail: (reason: string) => void,
  ) {
    super(sink, startDirectory, decide);
  }

  /** Client to target: returns true while it holds the client's input (a record being decided). */
  input(
    chunk: Buffer,
    write: (bytes: Buffer) => void,
    release: () => void,
    reply: (bytes: Buffer) => void,
  ): boolean {
    const pending = this.feed(chunk, write, (verdict) => reply(scpError(verdict.message)));
    if (!pending) return false;
    // A stream that cannot be read is found here, after the call returned: rejected unhandled, it
    // would end the agent's process, so it ends this channel instead (and input stays held).
    pending.then(release, (error: unknown) =>
      this.fail(error instanceof Error ? error.message : String(error)),
    );
    return true;
  }

  /** Where the next record's name lands: every path the target directory may be. */
  protected async entry(name: string, target: ScpPlace, uncertain?: string): Promise<Entry<string[]>> {
    const top = this.places.at(-1);
    const paths = top
      ? top.map((dir) => posix.join(dir, name))
      : [...(this.scp.directory ? [] : [target.path]), posix.join(target.path, name)];
    const unique = [...new Set(paths)];
    for (const path of unique) {
      const verdict = await this.decideText(`<sftp upload ${path}>`, uncertain);
      if (!verdict.allow) return verdict;
    }
    return { allow: true, place: unique };
  }
}

/**
 * Watches what `scp -f` (legacy scp's download) sends its client: each file (`C` record) and
 * directory (`D`) is decided before the client sees it, as `<sftp download PATH>`, the same text an
 * SFTP read is decided as: the path given (PATH itself, or, for a recursive copy, the directory
 * PATH), then each file and directory under it by its name. A refusal is answered to the target's
 * scp as the client answers an error (`\x01message`), so it skips that file or directory and sends
 * none of it, and told the client as the source tells an error, so it goes on with the next one. A
 * stream that is not the SCP protocol ends the channel.
 */
export class ScpSourceGate extends ScpRecordGate<string> {
  /**
   * Target to client: undefined when the chunk was passed at once, else a promise that settles
   * once its records are decided. Throws or rejects on a stream that is not scp.
   */
  output(
    chunk: Buffer,
    send: (bytes: Buffer) => void,
    toTarget: (bytes: Buffer) => void,
  ): Promise<void> | undefined {
    return this.feed(chunk, send, (verdict) => {
      const error = scpError(verdict.message);
      toTarget(error);
      send(error);
    });
  }

  /** The directories the records are in (a recursive copy). */
  protected async entry(name: string, base: ScpPlace, uncertain?: string): Promise<Entry<string>> {
    const top = this.places.at(-1);
    const path = top === undefined ? base.path : posix.join(top, name);
    const verdict = await this.decideText(`<sftp download ${path}>`, uncertain);
    return verdict.allow ? { allow: true, place: path } : verdict;
  }
}

/**
 * A line that is not an SCP record: the end of the channel for a plain scp command (fail closed),
 * passed on for a command line that runs other commands too (`scp -f x; echo done`), whose records
 * are still decided wherever they start a line, as unclassified.
 */
function notRecord(scp: ScpSink, text: string): Verdict {
  if (scp.target !== undefined) throw new Error(`not an scp record: ${JSON.stringify(text.slice(0, 80))}`);
  // What scp would take for a file or directory is never passed unread.
  if (text.startsWith('C') || text.startsWith('D')) {
    return { allow: false, message: 'an scp record Tollgate cannot read (its size or name)' };
  }
  return { allow: true };
}

/** The path scp's command line names, as the target resolves it (from its start directory). */
async function resolvePlace(
  scp: ScpSink,
  startDirectory: () => Promise<string | undefined>,
): Promise<ScpPlace> {
  const target = scp.target;
  if (target === undefined) return { path: '(scp)', uncertain: scp.uncertain };
  if (target.startsWith('/')) return { path: posix.normalize(target) };
  const home = await startDirectory().catch(() => undefined);
  const relative = target === '~' ? '.' : target.startsWith('~/') ? target.slice(2) : target;
  if (!home?.startsWith('/')) {
    return { path: relative, uncertain: 'a relative scp path whose start directory the server did not tell' };
  }
  return { path: posix.join(home, relative) };
}
