import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { makeTempDir } from '@tollgate/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP, registerConsole } from './register-console';

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/app-3f2a.js"></script></head><body><div id="root"></div></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;

describe('the web console served by the gateway', () => {
  const dir = makeTempDir('tollgate-console-');
  let app: FastifyInstance;
  let publicUrl = 'http://127.0.0.1:8009';
  const get = (url: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'GET', url, headers: { host: '127.0.0.1:8009', ...headers } });

  beforeAll(async () => {
    mkdirSync(join(dir.path, 'assets'));
    writeFileSync(join(dir.path, 'index.html'), INDEX);
    writeFileSync(join(dir.path, 'assets', 'app-3f2a.js'), SCRIPT);
    writeFileSync(join(dir.path, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    app = Fastify();
    registerConsole(app, {
      dir: dir.path,
      publicBaseUrl: () => publicUrl,
      logger: pino({ level: 'silent' }),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    dir.remove();
  });

  it('serves index.html at / with a CSP that allows only its own origin, revalidated on every load', async () => {
    const response = await get('/');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body).toBe(INDEX);
    expect(response.headers['content-security-policy']).toBe(CONSOLE_CSP);
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).toContain("connect-src 'self'");
    expect(CONSOLE_CSP).toContain("frame-ancestors 'none'");
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
    expect(response.headers['cache-control']).toBe('no-cache');
    expect(response.headers['referrer-policy']).toBe('no-referrer');
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['x-frame-options']).toBe('DENY');
  });

  it("answers the console's own pages (and the login callback) with index.html", async () => {
    for (const path of [
      '/policy',
      '/sessions/5b7c',
      '/connections/pg-prod?created=1',
      '/console/callback?code=abc&state=x',
    ]) {
      const response = await get(path);
      expect(response.statusCode, path).toBe(200);
      expect(response.body, path).toBe(INDEX);
    }
  });

  it('caches hashed assets for a year, answers 304 to a matching ETag and compresses text', async () => {
    const plain = await get('/assets/app-3f2a.js');
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.body).toBe(SCRIPT);
    const etag = String(plain.headers['etag']);
    expect((await get('/assets/app-3f2a.js', { 'if-none-match': etag })).statusCode).toBe(304);
    expect((await get('/', { 'if-none-match': etag })).statusCode).toBe(200);

    const gzipped = await get('/assets/app-3f2a.js', { 'accept-encoding': 'gzip, br' });
    expect(gzipped.headers['content-encoding']).toBe('gzip');
    expect(gzipped.rawPayload.length).toBeLessThan(SCRIPT.length / 10);
    expect(gunzipSync(gzipped.rawPayload).toString()).toBe(SCRIPT);
    expect(gzipped.headers['vary']).toContain('accept-encoding');
  });

  it('is a 404 (problem+json, never index.html) for missing files and for every gateway path', async () => {
    for (const path of [
      '/assets/gone-1234.js',
      '/missing.png',
      '/api/v1/nope',
      '/api',
      '/auth/unknown',
      '/oauth/x',
      '/.well-known/nothing',
      '/healthz',
      '/metrics',
      '/assets/%2e%2e/%2e%2e/package.json',
    ]) {
      const response = await get(path);
      expect(response.statusCode, path).toBe(404);
      expect(response.headers['content-type'], path).toMatch(/^application\/problem\+json/);
      expect(response.body, path).not.toContain('<html');
    }
  });

  it('serves files from memory only: a path that climbs out of the directory finds nothing there', async () => {
    for (const path of [
      '/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2fetc%2fpasswd',
      '/assets/../../package.json',
    ]) {
      const response = await get(path);
      expect([200, 404], path).toContain(response.statusCode);
      if (response.statusCode === 200) expect(response.body, path).toBe(INDEX);
    }
  });

  it('sends a page asked for under another host name to the public URL (its login returns there)', async () => {
    const response = await get('/policy?x=1', { host: 'localhost:8009' });
    expect(response.statusCode).toBe(302);
    expect(response.headers['location']).toBe('http://127.0.0.1:8009/policy?x=1');
    // Assets are not redirected, and a wildcard public address names no host to send anyone to.
    expect((await get('/assets/app-3f2a.js', { host: 'localhost:8009' })).statusCode).toBe(200);
    publicUrl = 'http://0.0.0.0:8009';
    expect((await get('/policy', { host: 'gateway.internal:8009' })).statusCode).toBe(200);
    publicUrl = 'http://127.0.0.1:8009';
  });

  it('says how to build the console when there is none', async () => {
    const bare = Fastify();
    registerConsole(bare, {
      dir: join(dir.path, 'nothing-here'),
      publicBaseUrl: () => publicUrl,
      logger: pino({ level: 'silent' }),
    });
    const response = await bare.inject({ method: 'GET', url: '/' });
    expect(response.statusCode).toBe(404);
    const problem = response.json<{ status: number; detail: string }>();
    expect(problem.status).toBe(404);
    expect(problem.detail).toContain('npm run build');
    await bare.close();
  });
});
