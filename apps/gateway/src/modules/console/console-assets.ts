import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, resolve, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/** One file of the built console, held in memory (the whole bundle is a few hundred KiB). */
export interface ConsoleAsset {
  readonly body: Buffer;
  /** The gzip-compressed body, for text assets where it is smaller. */
  readonly gzip?: Buffer;
  readonly contentType: string;
  readonly etag: string;
  /** Vite names the files under assets/ by their content hash, so they never change. */
  readonly immutable: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt', '.map']);

/**
 * The console directory built beside this gateway: apps/console/dist in the repository, or
 * console/ beside the bundle in the published CLI package (where every module's __dirname is the
 * bundle's directory).
 */
export function defaultConsoleDir(): string {
  // dist/modules/console (built) or src/modules/console (tests from sources): four levels up is apps/.
  const packaged = resolve(__dirname, 'console');
  if (existsSync(join(packaged, 'index.html'))) return packaged;
  return resolve(__dirname, '..', '..', '..', '..', 'console', 'dist');
}

/**
 * The built web console, read once at start-up: files by URL path (`/index.html`,
 * `/assets/index-3f2a.js`). Undefined when the directory holds no index.html (not built).
 */
export function loadConsoleAssets(dir: string): Map<string, ConsoleAsset> | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const assets = new Map<string, ConsoleAsset>();
  for (const file of walk(dir)) {
    const extension = extname(file).toLowerCase();
    const body = readFileSync(file);
    const urlPath = `/${relative(dir, file).split(sep).join('/')}`;
    const gzip = COMPRESSIBLE.has(extension) && body.length > 512 ? gzipSync(body, { level: 9 }) : undefined;
    assets.set(urlPath, {
      body,
      ...(gzip && gzip.length < body.length ? { gzip } : {}),
      contentType: CONTENT_TYPES[extension] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      immutable: urlPath.startsWith('/assets/'),
    });
  }
  return assets;
}

function* walk(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}
