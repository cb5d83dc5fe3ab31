import { createHash, type Hash } from 'node:crypto';
import type { Verdict } from '../bridge/session-bridge';
import { OPEN_WRITE, permissionDenied, SFTP, SftpFields, SftpPacketReader } from './sftp-packets';

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
 * SSH_FX_PERMISSION_DENIED and the rule's message), each file's bytes are counted and hashed as
 * they pass (WRITE requests; DATA replies to READ), and each transfer is reported at CLOSE (or when
 * the channel ends). Files are keyed by the handle the server returned.
 */
export class SftpTransferAudit {
  private readonly requests = new SftpPacketReader();
  private readonly replies = new SftpPacketReader();
  private readonly opening = new Map<number, { path: string; direction: OpenFile['direction'] }>();
  private readonly reading = new Map<number, { handle: string; offset: number }>();
  private readonly files = new Map<string, OpenFile>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly decide: (text: string) => Promise<Verdict>,
    private readonly report: (transfer: SftpTransfer) => void,
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
      for (const packet of packets) {
        const fields = new SftpFields(packet);
        if (fields.type === SFTP.OPEN) {
          const id = fields.uint32();
          const path = fields.string();
          const direction = fields.uint32() & OPEN_WRITE ? 'upload' : 'download';
          const verdict = await this.decide(`<sftp ${direction} ${path}>`).catch(
            (error: unknown): Verdict => ({ allow: false, message: String(error) }),
          );
          if (!verdict.allow) {
            reply(permissionDenied(id, verdict.message));
            continue;
          }
          this.opening.set(id, { path, direction });
        } else {
          this.request(fields);
        }
        write(packet);
      }
      release();
    });
    return true;
  }

  /** Server to client. */
  output(chunk: Buffer): void {
    for (const packet of this.replies.push(chunk)) {
      const fields = new SftpFields(packet);
      const id = fields.uint32();
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
