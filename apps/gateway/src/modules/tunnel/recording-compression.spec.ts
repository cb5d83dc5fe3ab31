import { gzipSync, zstdCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { compressRecording, decompressRecording } from './recording-compression';

const text = Buffer.from('[0.5, "o", "héllo \\u001b[1mworld\\u001b[0m\\r\\n"]\n'.repeat(500));

describe('recording rows: compressed, and read back whichever codec wrote them', () => {
  it('round-trips what it compresses, smaller than the text', async () => {
    const stored = await compressRecording(text);
    expect(stored.length).toBeLessThan(text.length / 4);
    expect((await decompressRecording(stored)).equals(text)).toBe(true);
  });

  it('reads rows a gateway without zstd wrote (gzip) and rows with zstd, told by their first bytes', async () => {
    expect((await decompressRecording(gzipSync(text))).equals(text)).toBe(true);
    expect((await decompressRecording(zstdCompressSync(text))).equals(text)).toBe(true);
  });

  it('refuses bytes that are neither, rather than serving them as text', async () => {
    await expect(decompressRecording(text)).rejects.toThrow('neither zstd nor gzip');
  });
});
