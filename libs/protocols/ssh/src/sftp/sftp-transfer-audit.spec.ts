import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SFTP, SftpPacketReader, SftpProtocolError } from './sftp-packets';
import { SftpTransferAudit, type SftpTransfer } from './sftp-transfer-audit';

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
