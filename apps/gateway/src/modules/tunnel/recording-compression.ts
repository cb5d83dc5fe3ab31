import { promisify } from 'node:util';
import * as zlib from 'node:zlib';

/**
 * How recording rows are compressed: zstd at its fastest level where this Node.js has it (22.15 and
 * later), gzip at its fastest level otherwise (the quick start still runs on Node.js 20). A row
 * says which by its first bytes (each format's magic number), so rows written by either read back on
 * any gateway that has the codec.
 */
const zstdCompress = zlib.zstdCompress as typeof zlib.zstdCompress | undefined;
const zstdDecompress = zlib.zstdDecompress as typeof zlib.zstdDecompress | undefined;
const zstdAsync = zstdCompress ? promisify(zstdCompress) : undefined;
const unzstdAsync = zstdDecompress ? promisify(zstdDecompress) : undefined;
const gzipAsync = promisify(zlib.gzip);
const gunzipAsync = promisify(zlib.gunzip);

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** The bytes of `text` as a recording row stores them. */
export function compressRecording(text: Buffer): Promise<Buffer<ArrayBuffer>> {
  if (zstdAsync) {
    return zstdAsync(text, { params: { [zlib.constants.ZSTD_c_compressionLevel]: 1 } });
  }
  return gzipAsync(text, { level: 1 });
}

/** A recording row's text back from its stored bytes (zstd or gzip, told by their magic number). */
export async function decompressRecording(stored: Uint8Array): Promise<Buffer> {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes.subarray(0, 4).equals(ZSTD_MAGIC)) {
    if (!unzstdAsync) {
      throw new Error(
        'this recording is zstd-compressed and this Node.js has no zstd (it needs 22.15 or later)',
      );
    }
    return unzstdAsync(bytes);
  }
  if (bytes.subarray(0, 2).equals(GZIP_MAGIC)) return gunzipAsync(bytes);
  throw new Error('a recording row is neither zstd nor gzip');
}
