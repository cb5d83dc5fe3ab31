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
 * Watches what an scp client sends to `scp -t` (the SCP protocol over an exec, `scp -O`): each file
 * (`C` record) and directory (`D`) is decided before the target's scp sees it, as `<sftp upload
 * PATH>`, the same text an SFTP write is decided as. The sink writes into its target, or into the
 * target as a directory when it is one, which only the target knows: both paths are decided (only the
 * second under `-d`), and a directory's contents under each. A refusal is answered as the sink
 * answers an error (`\x01message`), so the client skips that file or directory and goes on; the
 * target never sees it. A stream that is not the SCP protocol ends the channel.
 */
export class ScpSinkGate {
  private state: State = { kind: 'record' };
  private line: Buffer[] = [];
  private lineBytes = 0;
  /** Where the next record's name lands: every path the target directory may be. */
  private readonly places: string[][] = [];
  private queue: Promise<void> = Promise.resolve();
  private broken = false;
  private resolved: Promise<{ path: string; uncertain?: string }> | undefined;

  constructor(
    private readonly sink: ScpSink,
    /** The target's start directory (the login's home), to place a relative target. */
    private readonly startDirectory: () => Promise<string | undefined>,
    private readonly decide: (text: string, uncertain?: string) => Promise<Verdict>,
    private readonly fail: (reason: string) => void,
  ) {}

  /** Client to target: records held until decided. Returns true while holding. */
  input(
    chunk: Buffer,
    write: (bytes: Buffer) => void,
    release: () => void,
    reply: (bytes: Buffer) => void,
  ): boolean {
    const bytes = Buffer.from(chunk);
    this.queue = this.queue.then(async () => {
      if (this.broken) return;
      await this.drain(bytes, write, reply);
      release();
    });
    // A stream that cannot be read is found here, after the call returned: rejected unhandled, it
    // would end the agent's process, so it ends this channel instead.
    this.queue = this.queue.catch((error: unknown) => {
      this.broken = true;
      this.fail(error instanceof Error ? error.message : String(error));
    });
    return true;
  }

  /** Passes file contents and acks as they are; each record line once decided (the rest waits for it). */
  private async drain(
    chunk: Buffer,
    write: (bytes: Buffer) => void,
    reply: (bytes: Buffer) => void,
  ): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      if (this.state.kind === 'data') {
        const take = Math.min(this.state.left, chunk.length - at);
        write(chunk.subarray(at, at + take));
        at += take;
        this.state.left -= take;
        if (this.state.left === 0) this.state = { kind: 'ack' };
        continue;
      }
      if (this.state.kind === 'ack' && this.lineBytes === 0 && chunk[at] === 0) {
        // The source's "sent whole" after a file's contents.
        write(chunk.subarray(at, at + 1));
        at += 1;
        this.state = { kind: 'record' };
        continue;
      }
      const end = chunk.indexOf(0x0a, at);
      const piece = chunk.subarray(at, end < 0 ? chunk.length : end + 1);
      this.lineBytes += piece.length;
      if (this.lineBytes > MAX_RECORD_BYTES) throw new Error('an scp record line is too long');
      this.line.push(piece);
      at += piece.length;
      if (end < 0) return;
      const line = Buffer.concat(this.line);
      this.line = [];
      this.lineBytes = 0;
      this.state = { kind: 'record' };
      const verdict = await this.record(line);
      if (verdict.allow) write(line);
      else reply(Buffer.from(`\x01tollgate: ${verdict.message.replace(/\n/g, ' ')}\n`));
    }
  }

  /** Decides one record; a file accepted makes its contents the next bytes. */
  private async record(line: Buffer): Promise<Verdict> {
    const text = line.toString('utf8').replace(/\n$/, '');
    const type = text[0];
    if (type === '\x01' || type === '\x02' || type === 'T') return { allow: true };
    if (type === 'E' && text === 'E') {
      this.places.pop();
      return { allow: true };
    }
    const record = /^([CD])[0-7]{4} (\d+) (.+)$/s.exec(text);
    if (!record) return notRecord(this.sink, text);
    const [, kind, , name] = record;
    const { paths, uncertain } = await this.placesOf(name!);
    for (const path of paths) {
      const verdict = await this.decide(`<sftp upload ${path}>`, uncertain).catch(
        (error: unknown): Verdict => ({ allow: false, message: String(error) }),
      );
      if (!verdict.allow) return verdict;
    }
    if (kind === 'D') this.places.push(paths);
    else {
      // Its contents, then the source's byte saying they were read whole.
      const size = Number(record[2]);
      this.state = size > 0 ? { kind: 'data', left: size } : { kind: 'ack' };
    }
    return { allow: true };
  }

  /** Every path a record's name may be written at. */
  private async placesOf(name: string): Promise<{ paths: string[]; uncertain?: string }> {
    const target = await (this.resolved ??= resolvePlace(this.sink, this.startDirectory));
    const base = { paths: [target.path], ...(target.uncertain ? { uncertain: target.uncertain } : {}) };
    // eslint-disable-next-line no-control-regex
    const nameUncertain = /[\u0000-\u001f\u007f]/.test(name)
      ? 'control characters in an scp file name'
      : undefined;
    const uncertain = base.uncertain ?? nameUncertain;
    const top = this.places.at(-1);
    const paths = top
      ? top.map((dir) => posix.join(dir, name))
      : [...(this.sink.directory ? [] : base.paths), ...base.paths.map((path) => posix.join(path, name))];
    return { paths: [...new Set(paths)], ...(uncertain ? { uncertain } : {}) };
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
export class ScpSourceGate {
  private state: State = { kind: 'record' };
  private line: Buffer[] = [];
  private lineBytes = 0;
  /** The directories the records are in (a recursive copy). */
  private readonly places: string[] = [];
  private resolved: Promise<{ path: string; uncertain?: string }> | undefined;

  constructor(
    private readonly source: ScpSink,
    private readonly startDirectory: () => Promise<string | undefined>,
    private readonly decide: (text: string, uncertain?: string) => Promise<Verdict>,
  ) {}

  /** Target to client: file contents pass as they are, each record once decided. Rejects on a stream that is not scp. */
  async output(
    chunk: Buffer,
    send: (bytes: Buffer) => void,
    toTarget: (bytes: Buffer) => void,
  ): Promise<void> {
    let at = 0;
    while (at < chunk.length) {
      if (this.state.kind === 'data') {
        const take = Math.min(this.state.left, chunk.length - at);
        send(chunk.subarray(at, at + take));
        at += take;
        this.state.left -= take;
        if (this.state.left === 0) this.state = { kind: 'ack' };
        continue;
      }
      if (this.state.kind === 'ack' && this.lineBytes === 0 && chunk[at] === 0) {
        send(chunk.subarray(at, at + 1));
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
      if (end < 0) return;
      const line = Buffer.concat(this.line);
      this.line = [];
      this.lineBytes = 0;
      this.state = { kind: 'record' };
      const verdict = await this.record(line);
      if (verdict.allow) {
        send(line);
      } else {
        const error = Buffer.from(`\x01tollgate: ${verdict.message.replace(/\n/g, ' ')}\n`);
        toTarget(error);
        send(error);
      }
    }
  }

  private async record(line: Buffer): Promise<Verdict> {
    const text = line.toString('utf8').replace(/\n$/, '');
    const type = text[0];
    if (type === '\x01' || type === '\x02' || type === 'T') return { allow: true };
    if (text === 'E') {
      this.places.pop();
      return { allow: true };
    }
    const record = /^([CD])[0-7]{4} (\d+) (.+)$/s.exec(text);
    if (!record) return notRecord(this.source, text);
    const [, kind, size, name] = record;
    const base = await (this.resolved ??= resolvePlace(this.source, this.startDirectory));
    // eslint-disable-next-line no-control-regex
    const control = /[\u0000-\u001f\u007f]/.test(name!)
      ? 'control characters in an scp file name'
      : undefined;
    const top = this.places.at(-1);
    const path = top === undefined ? base.path : posix.join(top, name!);
    const uncertain = base.uncertain ?? control;
    const verdict = await this.decide(`<sftp download ${path}>`, uncertain).catch(
      (error: unknown): Verdict => ({ allow: false, message: String(error) }),
    );
    if (!verdict.allow) return verdict;
    if (kind === 'D') this.places.push(path);
    else this.state = Number(size) > 0 ? { kind: 'data', left: Number(size) } : { kind: 'ack' };
    return { allow: true };
  }
}

/**
 * A line that is not an SCP record: the end of the channel for a plain scp command (fail closed),
 * passed on for a command line that runs other commands too (`scp -f x; echo done`), whose records
 * are still decided wherever they start a line, as unclassified.
 */
function notRecord(scp: ScpSink, text: string): Verdict {
  if (scp.target === undefined) return { allow: true };
  throw new Error(`not an scp record: ${JSON.stringify(text.slice(0, 80))}`);
}

/** The path scp's command line names, as the target resolves it (from its start directory). */
async function resolvePlace(
  scp: ScpSink,
  startDirectory: () => Promise<string | undefined>,
): Promise<{ path: string; uncertain?: string }> {
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
