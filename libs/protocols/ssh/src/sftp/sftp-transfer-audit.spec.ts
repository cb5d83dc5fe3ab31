import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SFTP, SftpPacketReader, SftpProtocolError } from './sftp-packets';
import { SftpTransferAudit, type SftpTransfer } from './sftp-transfer-audit';
import type { Verdict } from '../bridge/session-bridge';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const str = (s: string | Buffer) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
const packet = (type: number, ...fields: Buffer[]) => {
  const body = Buffer.concat([Buffer.from([type]), ...fields]);
  return Buffer.concat([u32(body.length), body]);
};

describe('SftpTransferAudit', () => {
  const run = async (allow: boolean, split: number[]) => {
    const reported: SftpTransfer[] = [];
    const written: Buffer[] = [];
    const replies: Buffer[] = [];
    const audit = new SftpTransferAudit(
      () => Promise.resolve(allow ? { allow: true } : { allow: false, message: 'no' }),
      (t) => reported.push(t),
    );
    const feed = async (bytes: Buffer, cuts: number[]) => {
      const points = [...new Set(cuts.filter((n) => n > 0 && n < bytes.length))].sort((a, b) => a - b);
      let from = 0;
      for (const to of [...points, bytes.length]) {
        const piece = bytes.subarray(from, to);
        from = to;
        await new Promise<void>((release) =>
          audit.input(
            piece,
            (b) => written.push(b),
            release,
            (b) => replies.push(b),
          ),
        );
      }
    };
    await feed(packet(SFTP.OPEN, u32(1), str('/srv/a.bin'), u32(0x1a), u32(0)), split);
    // The client sends its WRITEs once the server answered the OPEN with a handle.
    if (allow) audit.output(packet(SFTP.HANDLE, u32(1), str('h1')));
    await feed(
      Buffer.concat([
        packet(SFTP.WRITE, u32(2), str('h1'), u64(0), str('hello ')),
        packet(SFTP.WRITE, u32(3), str('h1'), u64(6), str('world')),
        packet(SFTP.CLOSE, u32(4), str('h1')),
      ]),
      split,
    );
    return { reported, written, replies };
  };

  it('records an upload with its path, size and sha256, however the packets are split', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(120), { maxLength: 4 }), async (split) => {
        const { reported } = await run(true, split);
        expect(reported).toEqual([
          {
            direction: 'upload',
            path: '/srv/a.bin',
            bytes: 11,
            sha256: createHash('sha256').update('hello world').digest('hex'),
          },
        ]);
      }),
      { numRuns: 30 },
    );
  });

  it('answers a refused OPEN with SSH_FX_PERMISSION_DENIED and never forwards it', async () => {
    const { written, replies, reported } = await run(false, []);
    expect(written.some((b) => b[4] === SFTP.OPEN)).toBe(false);
    expect(replies[0]?.[4]).toBe(SFTP.STATUS);
    expect(replies[0]?.readUInt32BE(9)).toBe(3);
    expect(reported).toEqual([]);
  });

  it('decides every request that changes a path, as the server resolves it, not only an OPEN with WRITE', async () => {
    const asked: string[] = [];
    const written: number[] = [];
    const denied: number[] = [];
    const audit = new SftpTransferAudit(
      (text, uncertain) => {
        asked.push(uncertain ? `${text} (unclassified)` : text);
        return Promise.resolve(
          text.startsWith('<sftp upload /srv/locked') || uncertain
            ? { allow: false, message: 'no' }
            : { allow: true },
        );
      },
      () => undefined,
    );
    const feed = (bytes: Buffer) =>
      new Promise<void>((release) =>
        audit.input(
          bytes,
          (b) => written.push(b.readUInt32BE(5)),
          release,
          (b) => denied.push(b.readUInt32BE(5)),
        ),
      );
    // A download, whose handle is then used to change the file's attributes.
    await feed(packet(SFTP.OPEN, u32(1), str('/srv/locked/a'), u32(0x01), u32(0)));
    audit.output(packet(SFTP.HANDLE, u32(1), str('h1')));
    await feed(
      Buffer.concat([
        packet(SFTP.FSETSTAT, u32(2), str('h1'), u32(0)),
        // READ|CREAT|TRUNC without WRITE: sftp-server opens O_RDONLY|O_TRUNC, emptying the file.
        packet(SFTP.OPEN, u32(3), str('/srv/locked/b'), u32(0x19), u32(0)),
        packet(SFTP.OPEN, u32(4), str('/srv/open/../locked/c'), u32(0x1a), u32(0)),
        packet(SFTP.REMOVE, u32(5), str('//srv/locked/d')),
        packet(SFTP.RENAME, u32(6), str('/srv/open/e'), str('/srv/./locked/e')),
        packet(SFTP.SETSTAT, u32(7), str('/srv/locked'), u32(0)),
        packet(
          SFTP.EXTENDED,
          u32(8),
          str('posix-rename@openssh.com'),
          str('/srv/locked/f'),
          str('/srv/open/f'),
        ),
        packet(SFTP.EXTENDED, u32(9), str('hardlink@openssh.com'), str('/srv/locked/g'), str('/srv/open/g')),
        packet(SFTP.SYMLINK, u32(10), str('/srv/open/h'), str('/srv/locked')),
        packet(SFTP.EXTENDED, u32(11), str('vendor-chown@example.com'), str('/srv/open/i')),
        packet(SFTP.MKDIR, u32(13), str('/srv/open/k'), u32(0)),
        packet(SFTP.EXTENDED, u32(14), str('statvfs@openssh.com'), str('/srv/locked')),
      ]),
    );
    expect(written).toEqual([1, 13, 14]);
    expect(denied).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(asked).toEqual(
      expect.arrayContaining([
        '<sftp upload /srv/locked/a>',
        '<sftp upload /srv/locked/b>',
        '<sftp upload /srv/locked/c>',
        '<sftp upload /srv/locked/d>',
        '<sftp upload /srv/locked/e>',
        '<sftp upload /srv/locked>',
        '<sftp upload /srv/locked/f>',
        '<sftp upload /srv/locked/g>',
        '<sftp upload /srv/open/h> (unclassified)',
        '<sftp vendor-chown@example.com> (unclassified)',
        '<sftp upload /srv/open/k>',
      ]),
    );
  });

  it("reads a relative path from the server's start directory, which it asks the server for (unseen by the client)", async () => {
    const asked: string[] = [];
    const written: Buffer[] = [];
    const replies: Buffer[] = [];
    const audit = new SftpTransferAudit(
      (text) => {
        asked.push(text);
        return Promise.resolve<Verdict>(
          text.includes('/srv/locked/') ? { allow: false, message: 'no' } : { allow: true },
        );
      },
      () => undefined,
    );
    const fed = new Promise<void>((release) =>
      audit.input(
        Buffer.concat([
          packet(SFTP.OPEN, u32(1), str('../locked/j'), u32(0x1a), u32(0)),
          packet(SFTP.OPEN, u32(2), str('k'), u32(0x01), u32(0)),
          // A client may not use the agent's own request id (its answer would be taken as the server's).
          packet(SFTP.REALPATH, u32(0xffffffff), str('/tmp')),
        ]),
        (b) => written.push(b),
        release,
        (b) => replies.push(b),
      ),
    );
    await expect.poll(() => written.length).toBe(1);
    expect(written[0]).toEqual(packet(SFTP.REALPATH, u32(0xffffffff), str('.')));
    const answer = packet(SFTP.NAME, u32(0xffffffff), u32(1), str('/srv/home'), str('home'), u32(0));
    const partial = packet(SFTP.STATUS, u32(7), u32(0), str(''), str(''));
    expect(audit.output(Buffer.concat([answer, partial.subarray(0, 5)]))).toEqual(Buffer.alloc(0));
    expect(audit.output(partial.subarray(5))).toEqual(partial);
    await fed;
    expect(asked).toEqual(['<sftp upload /srv/locked/j>', '<sftp download /srv/home/k>']);
    expect(written.slice(1)).toEqual([packet(SFTP.OPEN, u32(2), str('k'), u32(0x01), u32(0))]);
    expect(replies.map((r) => r.readUInt32BE(5))).toEqual([1, 0xffffffff]);
  });

  it('ends the channel on a malformed request it holds (a truncated OPEN), never rejecting unhandled', async () => {
    // An unhandled rejection ends the agent's process, and with it every session it serves.
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const failed: string[] = [];
      const written: Buffer[] = [];
      const audit = new SftpTransferAudit(
        () => Promise.resolve({ allow: true }),
        () => undefined,
        (reason) => failed.push(reason),
      );
      const truncated = Buffer.concat([u32(9), Buffer.from([SFTP.OPEN]), u32(1), u32(4000)]);
      audit.input(
        truncated,
        (b) => written.push(b),
        () => undefined,
        () => undefined,
      );
      await expect.poll(() => failed).toEqual(['a truncated SFTP packet']);
      expect(written).toEqual([]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('property: the packet reader only ever fails with SftpProtocolError, and never buffers past its bound', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), (chunks) => {
        const reader = new SftpPacketReader();
        try {
          for (const chunk of chunks) reader.push(Buffer.from(chunk));
        } catch (error) {
          expect(error).toBeInstanceOf(SftpProtocolError);
        }
      }),
    );
    expect(() => new SftpPacketReader().push(u32(64 * 1024 * 1024))).toThrow(SftpProtocolError);
  });
});
