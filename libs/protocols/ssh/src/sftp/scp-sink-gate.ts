import { posix } from 'node:path';
import { readShellCommand } from '@tollgate/policy';
import type { Verdict } from '../bridge/session-bridge';

/** What an exec of scp's sink (`scp -t PATH`, legacy scp's upload) writes into, as its command line says. */
export interface ScpSink {
  /** The target as written (`.`, `dir`, `~/x`, `/abs`); absent when the command line is not read. */
  readonly target?: string;
  /** `-d`: the target must be a directory (several files sent). */
  readonly directory: boolean;
  /** Why the target cannot be read from the command line (decided as unclassified). */
  readonly uncertain?: string;
}

/**
 * The command line OpenSSH's scp sends for an upload (`scp [-v] [-d] [-r] [-p] -t [--] PATH`), with
 * a path the shell passes as it is (no quotes, variables, globs or other expansions but a leading `~`).
 */
const PLAIN_SINK =
  /^[ \t]*scp((?:[ \t]+-[a-zA-Z0-9]+)*)[ \t]+(?:--[ \t]+)?((?:~\/|~$)?[^\s;&|<>()`$'"\\#*?[\]{}~!]*)[ \t]*$/;

/**
 * Whether an exec request runs scp as a sink (`-t`: the files the client sends are written at the
 * target), and where to. Any other command line that runs scp with `-t` (after `cd`, under `sh -c`,
 * with a quoted or expanded path) is a sink whose target is not read.
 */
export function scpSink(command: string): ScpSink | undefined {
  const plain = PLAIN_SINK.exec(command);
  const flags = plain?.[1]?.split(/[ \t]+/).filter((flag) => flag !== '') ?? [];
  if (plain && plain[2] !== '' && flags.some((flag) => /^-[a-zA-Z0-9]*t/.test(flag))) {
    return { target: plain[2]!, directory: flags.some((flag) => /^-[a-zA-Z0-9]*d/.test(flag)) };
  }
  const reading = readShellCommand(command);
  const runsSink = [command, reading.dequoted, reading.commands].some((text) =>
    /(?:^|[\s/;&|(`])scp\b[^\n]*\s-[a-zA-Z0-9]*t/m.test(text),
  );
  return runsSink
    ? {
        directory: false,
        uncertain: 'an scp upload (scp -t) whose target path the command line does not say plainly',
      }
    : undefined;
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
  private resolved: Promise<{ paths: string[]; uncertain?: string }> | undefined;

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
    if (!record) throw new Error(`not an scp record: ${JSON.stringify(text.slice(0, 80))}`);
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
    const base = await (this.resolved ??= this.resolveTarget());
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

  private async resolveTarget(): Promise<{ paths: string[]; uncertain?: string }> {
    const target = this.sink.target;
    if (target === undefined) return { paths: ['(scp)'], uncertain: this.sink.uncertain };
    if (target.startsWith('/')) return { paths: [posix.normalize(target)] };
    const home = await this.startDirectory().catch(() => undefined);
    const relative = target === '~' ? '.' : target.startsWith('~/') ? target.slice(2) : target;
    if (!home?.startsWith('/')) {
      return {
        paths: [relative],
        uncertain: 'a relative scp path whose start directory the server did not tell',
      };
    }
    return { paths: [posix.join(home, relative)] };
  }
}
