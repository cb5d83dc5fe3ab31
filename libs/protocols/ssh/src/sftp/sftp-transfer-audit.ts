import { createHash, type Hash } from 'node:crypto';
import type { Verdict } from '../bridge/session-bridge';
import { posix } from 'node:path';
import { placedPath, sftpChange, type SftpChange } from './sftp-changes';
import { permissionDenied, realpathRequest, SFTP, SftpFields, SftpPacketReader } from './sftp-packets';

/** The request id of the agent's own questions to the server; a client's request using it is refused. */
const OWN_REQUEST_ID = 0xffffffff;

/** One file transfer as the audit records it. */
export interface SftpTransfer {
  readonly direction: 'upload' | 'download';
  readonly path: string;
  readonly bytes: number;
  /** Of the bytes transferred, when they were read or written in order from offset 0; else absent. */
  readonly sha256?: string;
}

interface OpenFile {
  readonly path: string;
  readonly direction: 'upload' | 'download';
  readonly hash: Hash;
  bytes: number;
  next: number;
  inOrder: boolean;
}

/**
 * Watches an SFTP subsystem channel in both directions: each OPEN is decided before it reaches the
 * server (as `<sftp upload PATH>` or `<sftp download PATH>`; a refusal is answered with
 * SSH_FX_PERMISSION_DENIED and the rule's message), and so is every other request that changes a
 * path (remove, rename, mkdir, rmdir, setstat, links; both paths of a rename or a link), each path
 * as `<sftp upload PATH>`: a rule that keeps uploads out of a directory keeps every change out.
 * Paths are decided as the server resolves them (`.`, `..`, `//`). Each file's bytes are counted and
 * hashed as they pass (WRITE requests; DATA replies to READ), and each transfer is reported at CLOSE
 * (or when the channel ends). Files are keyed by the handle the server returned.
 */
export class SftpTransferAudit {
  private readonly requests = new SftpPacketReader();
  private readonly replies = new SftpPacketReader();
  private readonly opening = new Map<number, { path: string; direction: OpenFile['direction'] }>();
  private readonly reading = new Map<number, { handle: string; offset: number }>();
  private readonly files = new Map<string, OpenFile>();
  private queue: Promise<void> = Promise.resolve();
  private broken = false;
  private startDirectory: Promise<string | undefined> | undefined;
  private startDirectoryAnswer: ((path: string | undefined) => void) | undefined;

  constructor(
    /** `uncertain`: why the text may not say what the server will do (decided as unclassified). */
    private readonly decide: (text: string, uncertain?: string) => Promise<Verdict>,
    private readonly report: (transfer: SftpTransfer) => void,
    /** A request that cannot be read ends the channel (fail closed), with the reason. */
    private readonly fail: (reason: string) => void = () => undefined,
  ) {}

  /** Client to server: whole packets only; OPENs held until decided. Returns true while holding. */
  input(
    chunk: Buffer,
    write: (bytes: Buffer) => void,
    release: () => void,
    reply: (bytes: Buffer) => void,
  ): boolean {
    const packets = this.requests.push(chunk);
    this.queue = this.queue.then(async () => {
      if (this.broken) return;
      for (const packet of packets) {
        const fields = new SftpFields(packet);
        if (fields.type !== SFTP.INIT && packet.length >= 9 && packet.readUInt32BE(5) === OWN_REQUEST_ID) {
          // The id of the agent's own question (below): its answer must not be the client's.
          reply(permissionDenied(OWN_REQUEST_ID, 'this request id is reserved by Tollgate'));
          continue;
        }
        const change = sftpChange(fields);
        if (change) {
          const verdict = await this.decideChange(change, write);
          if (!verdict.allow) {
            reply(permissionDenied(change.id, verdict.message));
            continue;
          }
        }
        this.request(new SftpFields(packet));
        write(packet);
      }
      release();
    });
    // A malformed request is read here, after the call returned: rejected unhandled, it would end
    // the agent's process (and every session on it), so it ends this channel instead.
    this.queue = this.queue.catch((error: unknown) => {
      this.broken = true;
      this.fail(error instanceof Error ? error.message : String(error));
    });
    return true;
  }

  /** Every path the request changes (or opens) must be allowed; the first refusal answers it. */
  private async decideChange(change: SftpChange, write: (bytes: Buffer) => void): Promise<Verdict> {
    const asked: { text: string; uncertain?: string }[] = [];
    const place = async (path: string) =>
      placedPath(path.startsWith('/') ? path : await this.fromStartDirectory(path, write));
    const ask = async (verb: string, path: string, why?: string) => {
      const placed = await place(path);
      const uncertain = placed.uncertain ?? why;
      asked.push({ text: `<sftp ${verb} ${placed.path}>`, ...(uncertain ? { uncertain } : {}) });
      return placed.path;
    };
    let opened: string | undefined;
    switch (change.kind) {
      case 'open':
        opened = await ask(change.write ? 'upload' : 'download', change.path);
        break;
      case 'paths':
        for (const path of change.paths) await ask('upload', path, change.uncertain);
        break;
      case 'handle': {
        const file = this.files.get(change.handle);
        if (file) await ask('upload', file.path);
        else
          asked.push({
            text: '<sftp upload (a handle)>',
            uncertain: 'an SFTP handle the agent did not see opened',
          });
        break;
      }
      case 'extension':
        asked.push({
          text: `<sftp ${change.name}>`,
          uncertain: `the SFTP extension ${change.name} (what it changes is not known)`,
        });
        break;
    }
    for (const { text, uncertain } of asked) {
      const verdict = await this.decide(text, uncertain).catch((error: unknown): Verdict => ({
        allow: false,
        message: String(error),
      }));
      if (!verdict.allow) return verdict;
    }
    if (change.kind === 'open' && opened !== undefined) {
      this.opening.set(change.id, { path: opened, direction: change.write ? 'upload' : 'download' });
    }
    return { allow: true };
  }

  /**
   * A relative path as the server resolves it: from its start directory (the login's home, or what
   * the server was configured with), which the agent asks the server for once (REALPATH ".", under
   * an id of its own whose answer never reaches the client). Unknown, the path stays relative.
   */
  private async fromStartDirectory(path: string, write: (bytes: Buffer) => void): Promise<string> {
    this.startDirectory ??= new Promise<string | undefined>((resolve) => {
      this.startDirectoryAnswer = resolve;
      write(realpathRequest(OWN_REQUEST_ID, '.'));
    });
    const directory = await this.startDirectory;
    return directory?.startsWith('/') ? posix.join(directory, path) : path;
  }

  /**
   * Server to client: observed (handles, read data), and returned as what the client is sent: whole
   * packets only (a partial one is held until the rest arrives), without the answer to the agent's
   * own question.
   */
  output(chunk: Buffer): Buffer {
    const passed: Buffer[] = [];
    for (const packet of this.replies.push(chunk)) {
      const fields = new SftpFields(packet);
      const id = fields.uint32();
      if (id === OWN_REQUEST_ID && fields.type !== SFTP.VERSION && this.startDirectoryAnswer) {
        const answer = this.startDirectoryAnswer;
        this.startDirectoryAnswer = undefined;
        if (fields.type === SFTP.NAME && fields.uint32() >= 1) answer(fields.string());
        else answer(undefined);
        continue;
      }
      passed.push(packet);
      if (fields.type === SFTP.HANDLE) {
        const open = this.opening.get(id);
        this.opening.delete(id);
        if (open)
          this.files.set(fields.bytes().toString('hex'), {
            ...open,
            hash: createHash('sha256'),
            bytes: 0,
            next: 0,
            inOrder: true,
          });
      } else if (fields.type === SFTP.DATA) {
        const read = this.reading.get(id);
        this.reading.delete(id);
        const file = read ? this.files.get(read.handle) : undefined;
        if (read && file) this.count(file, read.offset, fields.bytes());
      } else if (fields.type === SFTP.STATUS) {
        this.opening.delete(id);
        this.reading.delete(id);
      }
    }
    return passed.length === 1 ? passed[0]! : Buffer.concat(passed);
  }

  /** The channel ended: files never closed are reported as they stand. */
  end(): void {
    for (const handle of [...this.files.keys()]) this.close(handle);
  }

  private request(fields: SftpFields): void {
    if (fields.type === SFTP.WRITE) {
      fields.uint32();
      const file = this.files.get(fields.bytes().toString('hex'));
      const offset = fields.uint64();
      if (file) this.count(file, offset, fields.bytes());
    } else if (fields.type === SFTP.READ) {
      const id = fields.uint32();
      const handle = fields.bytes().toString('hex');
      if (this.files.has(handle)) this.reading.set(id, { handle, offset: fields.uint64() });
    } else if (fields.type === SFTP.CLOSE) {
      fields.uint32();
      this.close(fields.bytes().toString('hex'));
    }
  }

  private count(file: OpenFile, offset: number, data: Buffer): void {
    if (offset === file.next) file.hash.update(data);
    else file.inOrder = false;
    file.next = offset + data.length;
    file.bytes += data.length;
  }

  private close(handle: string): void {
    const file = this.files.get(handle);
    if (!file) return;
    this.files.delete(handle);
    this.report({
      direction: file.direction,
      path: file.path,
      bytes: file.bytes,
      ...(file.inOrder ? { sha256: file.hash.digest('hex') } : {}),
    });
  }
}
