import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { PROBLEM_CONTENT_TYPE, type ProblemDetails } from '../../common/problem/problem-details';
import { loadConsoleAssets, type ConsoleAsset } from './console-assets';

/**
 * The console may load code, styles, images and data from the gateway's own origin only; no inline
 * script, no framing, no plugins, and nothing that a page could use to send data elsewhere.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  // The login callback carries a one-time code in its query string: never send it on as a referrer.
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=()',
};

/** Paths the console never answers: they belong to the API and the gateway's own endpoints. */
const GATEWAY_PREFIXES = ['/api/', '/auth/', '/oauth/', '/.well-known/'];
const GATEWAY_PATHS = new Set(['/api', '/auth', '/oauth', '/healthz', '/readyz', '/metrics']);

export interface ConsoleOptions {
  readonly dir: string;
  /** The URL users reach the gateway at; the console runs on that origin (its login returns there). */
  readonly publicBaseUrl: () => string;
  readonly logger: Logger;
}

/**
 * Serves the web console at `/`: its files from memory with ETags (hashed assets cached for a year,
 * everything else revalidated), and index.html for any other GET path that is not the gateway's
 * (the console's own routes, such as /policy or /console/callback). Without a built console,
 * `/` answers 404 saying how to build it.
 */
export function registerConsole(fastify: FastifyInstance, options: ConsoleOptions): void {
  const assets = loadConsoleAssets(options.dir);
  if (!assets) {
    options.logger.warn(
      { dir: options.dir },
      'web console not found (run `npm run build`, or set TOLLGATE_CONSOLE_DIR); / answers 404',
    );
  }
  fastify.get('/*', async (request, reply) => {
    const path = decodePath(request.url);
    if (path === undefined || isGatewayPath(path)) return notFound(request, reply);
    if (!assets) {
      return notFound(
        request,
        reply,
        'the web console is not built: run `npm run build` (or set TOLLGATE_CONSOLE_DIR)',
      );
    }
    const file = assets.get(path === '/' ? '/index.html' : path);
    if (file) {
      if (file.contentType.startsWith('text/html') && redirectToPublicOrigin(request, reply, options)) return;
      return send(request, reply, file);
    }
    // A missing file (a script, an image) is a 404; any other path is one of the console's pages.
    if (/\.[A-Za-z0-9]+$/.test(path) || path.startsWith('/assets/')) return notFound(request, reply);
    if (redirectToPublicOrigin(request, reply, options)) return;
    return send(request, reply, assets.get('/index.html')!);
  });
}

function isGatewayPath(path: string): boolean {
  return GATEWAY_PATHS.has(path) || GATEWAY_PREFIXES.some((prefix) => path.startsWith(prefix));
}

function decodePath(url: string): string | undefined {
  const raw = url.split('?')[0] ?? '/';
  try {
    const path = decodeURIComponent(raw);
    // Files come from memory, so nothing can escape the directory; these are refused anyway.
    if (path.includes('\0') || path.split('/').includes('..')) return undefined;
    return path;
  } catch {
    return undefined;
  }
}

/**
 * The console must run on the gateway's public origin: its login redirect is checked against it,
 * and its session lives in that origin's storage. A page asked for under another host name is
 * redirected there (unless the public URL names no reachable host, e.g. 0.0.0.0).
 */
function redirectToPublicOrigin(
  request: FastifyRequest,
  reply: FastifyReply,
  options: ConsoleOptions,
): boolean {
  let publicUrl: URL;
  try {
    publicUrl = new URL(options.publicBaseUrl());
  } catch {
    return false;
  }
  if (['0.0.0.0', '[::]'].includes(publicUrl.hostname)) return false;
  if (request.host === publicUrl.host) return false;
  const target = new URL(request.url, publicUrl);
  void reply.status(302).header('location', target.href).header('cache-control', 'no-store').send();
  return true;
}

function send(request: FastifyRequest, reply: FastifyReply, file: ConsoleAsset): FastifyReply {
  void reply.headers(SECURITY_HEADERS);
  void reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  void reply.header('etag', file.etag);
  void reply.header('vary', 'accept-encoding');
  if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
  void reply.header('content-type', file.contentType);
  const gzip = file.gzip && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '');
  if (gzip) void reply.header('content-encoding', 'gzip');
  return reply.status(200).send(gzip ? file.gzip : file.body);
}

function notFound(request: FastifyRequest, reply: FastifyReply, detail?: string): FastifyReply {
  const problem: ProblemDetails = {
    type: 'about:blank',
    title: 'Not Found',
    status: 404,
    detail: detail ?? `Cannot ${request.method} ${request.url.split('?')[0]}`,
    instance: request.url,
  };
  return reply.status(404).header('content-type', PROBLEM_CONTENT_TYPE).send(problem);
}
