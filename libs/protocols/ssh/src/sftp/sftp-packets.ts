/** SFTP (version 3) packet types Tollgate reads; the rest pass through untouched. */
export const SFTP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  SETSTAT: 9,
  FSETSTAT: 10,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  RENAME: 18,
  REALPATH: 16,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  EXTENDED: 200,
} as const;

/** SSH_FXF_READ: the one OPEN flag that changes nothing (WRITE, APPEND, CREAT, TRUNC, EXCL all may). */
export const OPEN_READ = 0x01;
const STATUS_PERMISSION_DENIED = 3;

/** Larger than any packet OpenSSH sends (256 KiB); a bigger one is refused rather than buffered. */
export const MAX_SFTP_PACKET = 1024 * 1024;

export class SftpProtocolError extends Error {}

/**
 * Splits a byte stream into whole SFTP packets (uint32 length, then that many bytes), keeping a
 * partial packet until the rest arrives. No I/O.
 */
export class SftpPacketReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const packets: Buffer[] = [];
    let offset = 0;
    while (this.pending.length - offset >= 4) {
      const length = this.pending.readUInt32BE(offset);
      if (length < 1 || length > MAX_SFTP_PACKET) {
        throw new SftpProtocolError(`an SFTP packet of ${length} bytes is out of bounds`);
      }
      if (this.pending.length - offset < 4 + length) break;
      packets.push(this.pending.subarray(offset, offset + 4 + length));
      offset += 4 + length;
    }
    this.pending = this.pending.subarray(offset);
    return packets;
  }
}

/** A field cursor over one packet; reading past its end throws SftpProtocolError. */
export class SftpFields {
  private offset = 5;

  constructor(private readonly packet: Buffer) {}

  get type(): number {
    return this.packet[4] ?? 0;
  }

  uint32(): number {
    this.need(4);
    const value = this.packet.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  uint64(): number {
    this.need(8);
    const value = Number(this.packet.readBigUInt64BE(this.offset));
    this.offset += 8;
    return value;
  }

  bytes(): Buffer {
    const length = this.uint32();
    this.need(length);
    const value = this.packet.subarray(this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  string(): string {
    return this.bytes().toString('utf8');
  }

  private need(count: number): void {
    if (this.offset + count > this.packet.length) throw new SftpProtocolError('a truncated SFTP packet');
  }
}

/** SSH_FXP_STATUS with SSH_FX_PERMISSION_DENIED: how a refused request is answered. */
export function permissionDenied(requestId: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const body = Buffer.alloc(1 + 4 + 4 + 4 + text.length + 4);
  let offset = 0;
  body.writeUInt8(SFTP.STATUS, offset++);
  body.writeUInt32BE(requestId, offset);
  body.writeUInt32BE(STATUS_PERMISSION_DENIED, (offset += 4));
  body.writeUInt32BE(text.length, (offset += 4));
  text.copy(body, (offset += 4));
  body.writeUInt32BE(0, offset + text.length); // empty language tag
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  return Buffer.concat([length, body]);
}

/** SSH_FXP_REALPATH: how the agent asks the server where a path leads (its start directory for "."). */
export function realpathRequest(requestId: number, path: string): Buffer {
  const text = Buffer.from(path, 'utf8');
  const packet = Buffer.alloc(4 + 1 + 4 + 4 + text.length);
  packet.writeUInt32BE(packet.length - 4, 0);
  packet.writeUInt8(SFTP.REALPATH, 4);
  packet.writeUInt32BE(requestId, 5);
  packet.writeUInt32BE(text.length, 9);
  text.copy(packet, 13);
  return packet;
}
